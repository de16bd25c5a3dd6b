// Symbolic derivatives against central finite differences, for every model file in models/ and
// tests/data/models/ (globbed at run time, so models added later are covered automatically).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "osteogrn/detail/compiled_model.hpp"
#include "osteogrn/model.hpp"

namespace fs = std::filesystem;
using namespace osteogrn;

namespace {

std::vector<fs::path> model_files() {
  std::vector<fs::path> out;
  for (const char* dir : {"models", "tests/data/models"}) {
    const fs::path d = fs::path(OSTEOGRN_SOURCE_DIR) / dir;
    if (!fs::is_directory(d)) continue;
    for (const auto& entry : fs::directory_iterator(d))
      if (entry.is_regular_file() && entry.path().extension() == ".json")
        out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Point {
  std::vector<double> y, p, u;
  double t = 0.0;
};

std::vector<double> eval(const Tape& tape, const Point& x, std::vector<double>& work) {
  std::vector<double> out(tape.n_outputs());
  tape.eval({x.y.data(), x.p.data(), x.u.data(), x.t}, out.data(), work.data());
  return out;
}

// Dense row-major [nrows x ncols] from a sparse tape; also checks the pattern is in CSC order.
std::vector<double> dense(const Tape& tape, const detail::SparsePattern& pat, const Point& x,
                          std::size_t nrows, std::size_t ncols, std::vector<double>& work) {
  EXPECT_EQ(tape.n_outputs(), pat.nnz());
  EXPECT_EQ(pat.rows.size(), pat.cols.size());
  for (std::size_t k = 1; k < pat.nnz(); ++k) {
    const bool ordered = pat.cols[k - 1] < pat.cols[k] ||
                         (pat.cols[k - 1] == pat.cols[k] && pat.rows[k - 1] < pat.rows[k]);
    EXPECT_TRUE(ordered) << "pattern not in strict CSC order at entry " << k;
  }
  const auto vals = eval(tape, x, work);
  std::vector<double> out(nrows * ncols, 0.0);
  for (std::size_t k = 0; k < pat.nnz(); ++k) {
    EXPECT_LT(pat.rows[k], nrows);
    EXPECT_LT(pat.cols[k], ncols);
    out[pat.rows[k] * ncols + pat.cols[k]] = vals[k];
  }
  return out;
}

enum class Var { Y, P, U, T };

// Compares an analytic dense Jacobian of `values` (a tape's outputs) w.r.t. one kind of
// variable with central differences. The absolute floor is an estimate of the finite
// difference's own rounding error (100 eps |f| / h), plus 1e-9.
void check_against_fd(const std::string& what, const Tape& values, const std::vector<double>& jac,
                      Var var, const Point& x0, std::vector<double>& work) {
  std::vector<double>* (*pick)(Point&, Var) = [](Point& pt, Var v) -> std::vector<double>* {
    return v == Var::Y ? &pt.y : v == Var::P ? &pt.p : v == Var::U ? &pt.u : nullptr;
  };
  Point x = x0;
  const std::size_t nout = values.n_outputs();
  const std::size_t ncols = var == Var::T ? 1 : pick(x, var)->size();
  const auto f0 = eval(values, x0, work);
  for (std::size_t j = 0; j < ncols; ++j) {
    double& xj = var == Var::T ? x.t : (*pick(x, var))[j];
    const double orig = xj;
    const double h = 1e-5 * std::max(std::abs(orig), 1e-3);
    xj = orig + h;
    const auto fp = eval(values, x, work);
    xj = orig - h;
    const auto fm = eval(values, x, work);
    xj = orig;
    const double dh = (orig + h) - (orig - h);  // the step actually taken
    for (std::size_t i = 0; i < nout; ++i) {
      const double fd = (fp[i] - fm[i]) / dh;
      const double an = jac[i * ncols + j];
      const double eps = std::numeric_limits<double>::epsilon();
      const double floor =
          1e-9 + 100 * eps * (std::abs(fp[i]) + std::abs(fm[i]) + std::abs(f0[i])) / h;
      const double tol = 1e-6 * std::max(std::abs(an), std::abs(fd)) + floor;
      EXPECT_TRUE(std::isfinite(an)) << what << " (" << i << "," << j << ") not finite";
      EXPECT_LE(std::abs(an - fd), tol)
          << what << " entry (" << i << ", " << j << "): analytic " << an << " vs FD " << fd;
    }
  }
}

class JacobianFD : public ::testing::TestWithParam<fs::path> {};

TEST_P(JacobianFD, MatchesCentralDifferences) {
  const Model model = Model::from_file(GetParam().string());
  const auto& m = osteogrn::detail::compiled_model(model);
  const std::size_t ny = m.species.size(), np = m.parameters.size(), nu = m.inputs.size(),
                    no = m.observables.size();
  ASSERT_EQ(m.rhs.n_outputs(), ny);
  ASSERT_EQ(m.obs.n_outputs(), no);
  ASSERT_EQ(m.dfdt.n_outputs(), ny);
  std::vector<double> work(m.max_work_size);
  for (const Tape* tp : {&m.rhs, &m.jac_y, &m.jac_p, &m.jac_u, &m.dfdt, &m.obs, &m.obs_jac_y,
                         &m.obs_jac_p})
    ASSERT_LE(tp->work_size(), m.max_work_size);

  std::mt19937_64 rng(12345);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  auto log_uniform = [&](double lo, double hi) {
    return std::exp(std::log(lo) + unit(rng) * (std::log(hi) - std::log(lo)));
  };
  for (int point = 0; point < 100; ++point) {
    Point x;
    for (std::size_t i = 0; i < ny; ++i) x.y.push_back(log_uniform(1e-3, 10));
    for (std::size_t i = 0; i < nu; ++i) x.u.push_back(log_uniform(1e-3, 10));
    for (const auto& p : m.parameters)  // file values scaled by up to 2x, kept within bounds
      x.p.push_back(std::clamp(p.value * log_uniform(0.5, 2.0), p.min, p.max));
    x.t = 21.0 * unit(rng);
    SCOPED_TRACE("point " + std::to_string(point));

    check_against_fd("df/dy", m.rhs, dense(m.jac_y, m.jac_y_pattern, x, ny, ny, work), Var::Y, x,
                     work);
    check_against_fd("df/dp", m.rhs, dense(m.jac_p, m.jac_p_pattern, x, ny, np, work), Var::P, x,
                     work);
    check_against_fd("df/du", m.rhs, dense(m.jac_u, m.jac_u_pattern, x, ny, nu, work), Var::U, x,
                     work);
    check_against_fd("df/dt", m.rhs, eval(m.dfdt, x, work), Var::T, x, work);
    check_against_fd("dg/dy", m.obs, dense(m.obs_jac_y, m.obs_jac_y_pattern, x, no, ny, work),
                     Var::Y, x, work);
    check_against_fd("dg/dp", m.obs, dense(m.obs_jac_p, m.obs_jac_p_pattern, x, no, np, work),
                     Var::P, x, work);
    if (HasFailure()) break;  // one failing point is enough to read
  }
}

// The Model convenience functions evaluate the same tapes with the model's parameter values, at a
// time where none of the model's own overlays holds (test_model_overlays.cpp covers those).
TEST_P(JacobianFD, ModelMethodsAgreeWithTapes) {
  const Model model = Model::from_file(GetParam().string());
  const auto& m = osteogrn::detail::compiled_model(model);
  Point x;
  x.y = model.initial_state();
  for (auto& v : x.y) v += 0.25;
  for (const auto& in : model.inputs()) x.u.push_back(in.default_value + 0.5);
  x.p = model.parameter_values();
  x.t = 3.5;
  for (const auto& o : model.overlays())
    if (o.from <= x.t && x.t < o.until) x.t = std::max(x.t, o.until);
  ASSERT_TRUE(std::isfinite(x.t)) << "an overlay covers the whole run: pick another model";
  std::vector<double> work(m.max_work_size);
  EXPECT_EQ(model.rhs(x.t, x.y, x.u), eval(m.rhs, x, work));
  EXPECT_EQ(model.observe(x.t, x.y, x.u), eval(m.obs, x, work));
  EXPECT_EQ(model.jacobian(x.t, x.y, x.u),
            dense(m.jac_y, m.jac_y_pattern, x, x.y.size(), x.y.size(), work));
  EXPECT_EQ(model.parameter_jacobian(x.t, x.y, x.u),
            dense(m.jac_p, m.jac_p_pattern, x, x.y.size(), x.p.size(), work));
}

std::string test_name(const ::testing::TestParamInfo<fs::path>& info) {
  std::string name =
      fs::relative(info.param, OSTEOGRN_SOURCE_DIR).replace_extension().generic_string();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(AllModels, JacobianFD, ::testing::ValuesIn(model_files()), test_name);

TEST(JacobianFD, ModelFoldersAreNotEmpty) {
  // Guards against the glob silently finding nothing (e.g. a wrong OSTEOGRN_SOURCE_DIR).
  EXPECT_GE(model_files().size(), 6u);
}

}  // namespace
