#pragma once
// Batch simulation: one model, many parameter sets x several protocols, on a fixed pool of
// threads. Each task calls simulate(), so a batch gives bit-for-bit the results of serial runs.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "osteogrn/model.hpp"
#include "osteogrn/protocol.hpp"
#include "osteogrn/simulate.hpp"

namespace osteogrn {

struct BatchOptions {
  /// Per-task solver options. raise_on_failure is ignored (a failed task is recorded, never
  /// thrown); record_steps and sensitivities must be off (OptionError otherwise).
  SolverOptions solver;
  /// Worker threads; 0 = std::thread::hardware_concurrency(). Never more than the task count.
  unsigned threads = 0;
  /// Columns of the output, species or observable names; empty = all species, then all
  /// observables.
  std::vector<std::string> outputs;
};

/// Called from the thread that runs the batch (never from a worker) about every 100 ms and
/// once at the end with the number of finished tasks. If it throws, no new task starts, the
/// running ones finish, and the exception propagates out of Batch::run (cancellation).
using BatchProgress = std::function<void(std::size_t done, std::size_t total)>;

/// A batch set up and validated once: model, protocols, the names of the parameters that vary,
/// the sample grid and the output columns. Immutable; run() may be called from several threads.
class Batch {
 public:
  /// Validates everything that does not depend on the parameter values: options (OptionError),
  /// every protocol against the model (ProtocolError), parameter names (ModelError for an
  /// unknown name, OptionError for a repeated one), output names (ModelError), sample times.
  /// Times: `t` empty = every 0.1 day up to the longest protocol; a protocol shorter than that
  /// gets NaN at the times after its end. An explicit `t` must be sorted, finite and lie within
  /// every protocol's duration (OptionError).
  Batch(const Model& model, std::vector<Protocol> protocols,
        std::vector<std::string> parameter_names, const std::vector<double>& t = {},
        BatchOptions options = {});

  std::size_t n_protocols() const { return protocols_.size(); }
  std::size_t n_parameters() const { return columns_.size(); }
  std::size_t n_times() const { return t_.size(); }
  std::size_t n_outputs() const { return outputs_.size(); }
  /// Values per parameter set: n_protocols * n_times * n_outputs.
  std::size_t values_per_set() const { return n_protocols() * n_times() * n_outputs(); }
  const std::vector<double>& times() const { return t_; }
  const std::vector<std::string>& output_names() const { return output_names_; }
  const std::vector<std::string>& parameter_names() const { return names_; }
  /// Threads that run() would use for n_tasks tasks.
  unsigned threads_for(std::size_t n_tasks) const;

  /// OptionError if n_sets sets would give more than kMaxResultValues values; call it before
  /// allocating run()'s arrays.
  void check_size(std::size_t n_sets) const;

  /// ModelError naming the set and the parameter for a non-finite value or one outside the
  /// parameter's [min, max]. `values` is row-major [n_sets x n_parameters()].
  void check_parameters(const double* values, std::size_t n_sets) const;

  /// Runs every (set, protocol) task. `values` (row-major [n_sets, n_protocols, n_times,
  /// n_outputs]) must hold n_sets * values_per_set() doubles, `failed`, `codes` and `messages`
  /// n_sets * n_protocols entries each. Checks the parameters first (check_parameters). A task
  /// that fails with a SolverError, or with a ModelError/ProtocolError/OptionError that its
  /// parameter values cause, sets failed = 1, its code and its message; its values are those
  /// of simulate() with raise_on_failure = false (NaN from the failure on), or all NaN if it
  /// failed before. Any other exception (std::bad_alloc, a bug) stops the batch and propagates.
  /// Cancellation (progress throws): running tasks stop at their next step with
  /// ReturnCode::cancelled, tasks not started keep code cancelled, and the exception propagates.
  void run(const double* parameters, std::size_t n_sets, double* values, unsigned char* failed,
           ReturnCode* codes, std::string* messages, const BatchProgress& progress = {}) const;

 private:
  void run_task(std::size_t set, std::size_t protocol, const double* parameters, double* out,
                const SolverOptions& solver, unsigned char& failed, ReturnCode& code,
                std::string& message) const;

  Model model_;
  std::vector<Protocol> protocols_;
  std::vector<std::string> names_;
  std::vector<std::size_t> columns_;        // parameter index of each name
  std::vector<double> t_;                   // shared grid
  std::vector<std::vector<double>> times_;  // per protocol: the part of t_ within its duration
  std::vector<std::size_t> outputs_;        // column index in [species..., observables...]
  std::vector<std::string> output_names_;
  BatchOptions options_;
};

/// A batch's results, owning its arrays (layout as Batch::run).
struct BatchResult {
  std::size_t n_sets = 0, n_protocols = 0, n_times = 0, n_outputs = 0;
  std::vector<double> t;
  std::vector<std::string> output_names, parameter_names, protocol_names;
  std::vector<double> values;         // [n_sets, n_protocols, n_times, n_outputs]
  std::vector<unsigned char> failed;  // [n_sets, n_protocols]
  std::vector<ReturnCode> codes;      // [n_sets, n_protocols]; success where it succeeded
  std::vector<std::string> messages;  // [n_sets, n_protocols]; empty where it succeeded

  double at(std::size_t set, std::size_t protocol, std::size_t time, std::size_t output) const {
    return values[((set * n_protocols + protocol) * n_times + time) * n_outputs + output];
  }
};

/// Convenience: Batch(model, protocols, names, t, options).run(...) into a new BatchResult.
/// `parameters` is row-major [n_sets x names.size()].
BatchResult simulate_batch(const Model& model, const std::vector<Protocol>& protocols,
                           const std::vector<std::string>& parameter_names,
                           const std::vector<double>& parameters,
                           const std::vector<double>& t = {}, const BatchOptions& options = {},
                           const BatchProgress& progress = {});

}  // namespace osteogrn
