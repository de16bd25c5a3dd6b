// Batch runner: a fixed pool of std::threads takes (parameter set x protocol) tasks from an
// atomic counter; each task is one simulate() call writing into its own slice of a preallocated
// array, so the results do not depend on the number of threads or on the order of the tasks.
#include "osteogrn/batch.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <limits>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "osteogrn/errors.hpp"
#include "osteogrn/result.hpp"
#include "osteogrn/detail/schedule.hpp"
#include "osteogrn/detail/sample_times.hpp"
#include "osteogrn/detail/text_util.hpp"

namespace osteogrn {

using detail::format_short;

namespace {


constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

Batch::Batch(const Model& model, std::vector<Protocol> protocols,
             std::vector<std::string> parameter_names, const std::vector<double>& t,
             BatchOptions options)
    : model_(model), protocols_(std::move(protocols)), names_(std::move(parameter_names)),
      options_(std::move(options)) {
  options_.solver.validate();
  if (options_.solver.record_steps)
    throw OptionError("record_steps is not available in a batch; use simulate() for step logs");
  if (!options_.solver.sensitivities.empty())
    throw OptionError("sensitivities are not available in a batch; use simulate()");
  options_.solver.raise_on_failure = false;  // a failed task is recorded, not thrown
  if (protocols_.empty()) throw OptionError("a batch needs at least one protocol");

  // Pair every protocol with the model now, so a mismatch raises once instead of failing
  // every task.
  double longest = 0.0, shortest = kForever;
  for (const Protocol& p : protocols_) {
    const Schedule schedule(p, model_);
    longest = std::max(longest, schedule.duration());
    shortest = std::min(shortest, schedule.duration());
  }

  std::set<std::string> seen;
  for (const std::string& name : names_) {
    const auto index = model_.find_parameter(name);
    if (!index)
      throw ModelError("unknown parameter '" + name + "' in the batch's parameter names (model '" +
                           model_.name() + "' has " + std::to_string(model_.parameters().size()) +
                           " parameters; Model.parameters lists them)",
                       {}, "/parameters/" + name);
    if (!seen.insert(name).second)
      throw OptionError("parameter '" + name + "' is named twice in the batch's parameter names");
    columns_.push_back(*index);
  }

  const std::size_t n_species = model_.species().size();
  if (options_.outputs.empty()) {
    for (std::size_t i = 0; i < n_species; ++i) {
      outputs_.push_back(i);
      output_names_.push_back(model_.species()[i].name);
    }
    for (std::size_t j = 0; j < model_.observables().size(); ++j) {
      outputs_.push_back(n_species + j);
      output_names_.push_back(model_.observables()[j].name);
    }
  } else {
    std::set<std::string> seen_outputs;
    for (const std::string& name : options_.outputs) {
      if (!seen_outputs.insert(name).second)
        throw OptionError("output '" + name + "' is named twice");
      if (auto s = model_.find_species(name)) {
        outputs_.push_back(*s);
      } else if (auto o = model_.find_observable(name)) {
        outputs_.push_back(n_species + *o);
      } else {
        throw ModelError("unknown output '" + name + "': not a species or observable of model '" +
                         model_.name() + "'");
      }
      output_names_.push_back(name);
    }
  }

  if (t.empty()) {
    t_ = default_times(longest);
  } else {
    detail::check_sample_times(
        t, shortest,
        "[0, " + format_short(shortest) + "], the duration of the shortest protocol in the batch");
    t_ = t;
  }
  for (const Protocol& p : protocols_) {
    std::vector<double> mine;
    for (double ti : t_)
      if (ti <= p.duration()) mine.push_back(ti);
    times_.push_back(std::move(mine));
  }
}

unsigned Batch::threads_for(std::size_t n_tasks) const {
  unsigned n = options_.threads;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  if (n_tasks < n) n = static_cast<unsigned>(std::max<std::size_t>(n_tasks, 1));
  return n;
}

void Batch::check_parameters(const double* values, std::size_t n_sets) const {
  const std::size_t n_par = columns_.size();
  for (std::size_t s = 0; s < n_sets; ++s) {
    for (std::size_t c = 0; c < n_par; ++c) {
      const double v = values[s * n_par + c];
      const ParameterInfo& info = model_.parameters()[columns_[c]];
      const std::string where = "parameter set " + std::to_string(s) + ": '" + info.name + "' = ";
      if (!std::isfinite(v))
        throw ModelError(where + format_short(v) + " is not finite", {},
                         "/parameters/" + info.name);
      if (v < info.min || v > info.max)
        throw ModelError(where + format_short(v) + " lies outside its bounds [" +
                             format_short(info.min) + ", " + format_short(info.max) + "]",
                         {}, "/parameters/" + info.name);
    }
  }
}

void Batch::check_size(std::size_t n_sets) const {
  const double values = static_cast<double>(n_sets) * static_cast<double>(values_per_set());
  if (values > static_cast<double>(kMaxResultValues))
    throw OptionError(
        "batch too large: " + std::to_string(n_sets) + " parameter sets x " +
        std::to_string(n_protocols()) + " protocols x " + std::to_string(n_times()) +
        " times x " + std::to_string(n_outputs()) + " outputs = " + format_short(values) +
        " values, more than the limit of " + std::to_string(kMaxResultValues) +
        " (kMaxResultValues); select fewer outputs, pass fewer sample times t=[...], or run "
        "the sets in chunks");
}

void Batch::run_task(std::size_t set, std::size_t k, const double* parameters, double* out,
                     const SolverOptions& solver, unsigned char& failed, ReturnCode& code,
                     std::string& message) const {
  const std::size_t n_out = outputs_.size();
  std::fill(out, out + t_.size() * n_out, kNaN);
  failed = 0;
  code = ReturnCode::success;
  message.clear();
  // Only failures caused by this task's parameter values are recorded: a SolverError, or a
  // typed osteogrn error (a model edit the values make invalid). Anything else is not the
  // task's fault (std::bad_alloc, a bug) and stops the batch (Batch::run rethrows it).
  try {
    const std::size_t n_par = columns_.size();
    Result r;
    if (n_par == 0) {
      r = simulate(model_, protocols_[k], times_[k], solver);
    } else {
      std::vector<double> values = model_.parameter_values();
      for (std::size_t c = 0; c < n_par; ++c) values[columns_[c]] = parameters[set * n_par + c];
      r = simulate(model_.with_parameter_values(values), protocols_[k], times_[k], solver);
    }
    const std::size_t n_species = r.species_names.size(), n_obs = r.observable_names.size();
    for (std::size_t i = 0; i < r.t.size(); ++i) {
      for (std::size_t j = 0; j < n_out; ++j) {
        const std::size_t c = outputs_[j];
        out[i * n_out + j] =
            c < n_species ? r.species[i * n_species + c] : r.observables[i * n_obs + c - n_species];
      }
    }
    if (!r.success) {
      failed = 1;
      code = r.status;
      message = r.message;
    }
  } catch (const SolverError& e) {  // raised before integration (cannot happen after)
    failed = 1;
    code = e.code();
    message = e.what();
  } catch (const Error& e) {
    failed = 1;
    code = ReturnCode::other;
    message = e.what();
  }
}

void Batch::run(const double* parameters, std::size_t n_sets, double* values,
                unsigned char* failed, ReturnCode* codes, std::string* messages,
                const BatchProgress& progress) const {
  check_size(n_sets);
  check_parameters(parameters, n_sets);
  const std::size_t n_p = protocols_.size(), n_tasks = n_sets * n_p,
                    per_task = t_.size() * outputs_.size();
  const unsigned n_threads = threads_for(n_tasks);

  std::atomic<std::size_t> next{0}, done{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::condition_variable finished;
  unsigned running = n_threads;
  std::exception_ptr worker_error;  // a failure that is not a task's (e.g. bad_alloc)

  // A task that never starts (the batch was cancelled or stopped) keeps code cancelled.
  std::fill(failed, failed + n_tasks, static_cast<unsigned char>(1));
  std::fill(codes, codes + n_tasks, ReturnCode::cancelled);
  for (std::size_t i = 0; i < n_tasks; ++i) messages[i] = "not run: the batch was cancelled";
  // Running tasks stop at their next step once the batch is cancelled.
  SolverOptions solver = options_.solver;
  solver.interrupt = [&stop] { return stop.load(std::memory_order_relaxed); };

  const auto worker = [&] {
    try {
      while (!stop.load(std::memory_order_relaxed)) {
        const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
        if (i >= n_tasks) break;
        run_task(i / n_p, i % n_p, parameters, values + i * per_task, solver, failed[i],
                 codes[i], messages[i]);
        done.fetch_add(1, std::memory_order_relaxed);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!worker_error) worker_error = std::current_exception();
      stop = true;
    }
    std::lock_guard<std::mutex> lock(mutex);
    if (--running == 0) finished.notify_all();
  };

  // Joins on every exit path (a throwing progress callback, a failed thread start).
  struct Pool {
    std::vector<std::thread> threads;
    std::atomic<bool>& stop;
    ~Pool() {
      stop = true;
      for (auto& t : threads)
        if (t.joinable()) t.join();
    }
  } pool{{}, stop};
  pool.threads.reserve(n_threads);
  try {
    for (unsigned w = 0; w < n_threads; ++w) pool.threads.emplace_back(worker);
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex);
    running -= n_threads - static_cast<unsigned>(pool.threads.size());
    throw;  // ~Pool stops and joins the threads that did start
  }

  for (;;) {
    bool all_done;
    {
      std::unique_lock<std::mutex> lock(mutex);
      all_done = finished.wait_for(lock, std::chrono::milliseconds(100),
                                   [&] { return running == 0; });
    }
    if (progress) progress(done.load(), n_tasks);  // may throw: ~Pool cancels and joins
    if (all_done) break;
  }
  for (auto& t : pool.threads) t.join();
  if (worker_error) std::rethrow_exception(worker_error);
}

BatchResult simulate_batch(const Model& model, const std::vector<Protocol>& protocols,
                           const std::vector<std::string>& parameter_names,
                           const std::vector<double>& parameters, const std::vector<double>& t,
                           const BatchOptions& options, const BatchProgress& progress) {
  const Batch batch(model, protocols, parameter_names, t, options);
  std::size_t n_sets = 1;  // no varying parameter: one run of the model as it is
  if (!parameter_names.empty()) {
    if (parameters.size() % parameter_names.size() != 0)
      throw OptionError(std::to_string(parameters.size()) +
                        " parameter values do not fill rows of " +
                        std::to_string(parameter_names.size()) + " names");
    n_sets = parameters.size() / parameter_names.size();
  } else if (!parameters.empty()) {
    throw OptionError("parameter values given without parameter names");
  }
  BatchResult r;
  r.n_sets = n_sets;
  r.n_protocols = batch.n_protocols();
  r.n_times = batch.n_times();
  r.n_outputs = batch.n_outputs();
  r.t = batch.times();
  r.output_names = batch.output_names();
  r.parameter_names = parameter_names;
  for (const Protocol& p : protocols) r.protocol_names.push_back(p.name());
  batch.check_size(n_sets);
  r.values.assign(n_sets * batch.values_per_set(), kNaN);
  r.failed.assign(n_sets * r.n_protocols, 0);
  r.codes.assign(n_sets * r.n_protocols, ReturnCode::success);
  r.messages.assign(n_sets * r.n_protocols, std::string());
  batch.run(parameters.data(), n_sets, r.values.data(), r.failed.data(), r.codes.data(),
            r.messages.data(), progress);
  return r;
}

}  // namespace osteogrn
