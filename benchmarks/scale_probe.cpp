// Scale probe (issue 10, item 11): times one simulate() of a model JSON under a protocol JSON
// with a chosen linear solver, split into load and integration, with the solver counters.
// Not a test; a measurement tool for benchmarks/README.md's scale section.
//
//   python benchmarks/grn_generator.py 10000 -o grn10000.json --protocol grn21.json
//   scale_probe grn10000.json grn21.json gmres     # linear_solver dense, klu or gmres
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "osteogrn/errors.hpp"
#include "osteogrn/model.hpp"
#include "osteogrn/protocol.hpp"
#include "osteogrn/simulate.hpp"

namespace {
std::string slurp(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
// Process CPU time: on a shared machine the wall time includes other people's work.
double cpu_since(std::clock_t c0) {
  return static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL.json PROTOCOL.json [linear_solver] [rtol] [atol]\n",
                 argv[0]);
    return 2;
  }
  using namespace osteogrn;
  auto t0 = std::chrono::steady_clock::now();
  std::clock_t c0 = std::clock();
  const Model model = Model::from_json(slurp(argv[1]), argv[1]);
  const Protocol protocol = Protocol::from_json(slurp(argv[2]), argv[2]);
  const double t_load = seconds_since(t0), c_load = cpu_since(c0);
  SolverOptions o;
  if (argc > 3) o.linear_solver = parse_linear_solver(argv[3]);
  if (argc > 4) o.rtol = std::atof(argv[4]);
  if (argc > 5) o.atol = std::atof(argv[5]);
  t0 = std::chrono::steady_clock::now();
  c0 = std::clock();
  try {
    const Result r = simulate(model, protocol, std::vector<double>{0.0, protocol.duration()}, o);
    const double t_sim = seconds_since(t0), c_sim = cpu_since(c0);
    const SolverStats& s = r.stats;
    std::printf("load %.3f s (cpu %.3f)  simulate %.3f s (cpu %.3f)  steps %ld rhs %ld jac %ld "
                "setups %ld newton %ld ncf %ld etf %ld\n",
                t_load, c_load, t_sim, c_sim, s.steps, s.rhs_evals, s.jac_evals, s.lin_setups,
                s.nonlin_iters, s.nonlin_conv_fails, s.err_test_fails);
    double sum = 0;
    for (double v : r.species) sum += v;
    std::printf("checksum %.12g\n", sum);
  } catch (const std::exception& e) {
    std::printf("load %.3f s  failed after %.3f s: %s\n", t_load, seconds_since(t0), e.what());
    return 1;
  }
  return 0;
}
