#pragma once
// The protocol schedule bound to a model: breakpoints, closed-form inputs per segment, and the
// perturbations active in each segment. This is what the integration driver walks through.
#include <cstddef>
#include <string>
#include <vector>

#include "osteogrn/model.hpp"
#include "osteogrn/protocol.hpp"

namespace osteogrn {

/// One stretch between two consecutive breakpoints, [start, end]. Inside it every input is
/// u_k(t) = start_value[k] * exp(-decay_rate[k] * (t - start)), and the perturbations listed
/// hold. Values already reflect the events at `start` (media change, then additions).
struct Segment {
  double start = 0.0, end = 0.0;
  std::vector<double> start_value;  // per model input, in the model input's unit
  std::vector<double> decay_rate;   // per model input, 1/day (ln 2 / half-life; 0 if stable)
  struct Clamp { std::size_t species; double value; };
  struct Override { std::size_t parameter; double value; bool scale; };
  std::vector<Clamp> clamps;        // knockouts (value 0) and clamps; later entries win
  std::vector<Override> overrides;  // later entries win
};

/// A protocol bound to a model. Construction validates the pair and throws ProtocolError
/// naming the protocol's source and field: unknown component (unless optional), unknown
/// perturbation target, unit of another dimension than the model input's.
class Schedule {
 public:
  Schedule(const Protocol& protocol, const Model& model);

  double duration() const { return duration_; }
  /// Sorted, unique: 0, every media change, addition and perturbation boundary, duration.
  const std::vector<double>& breakpoints() const { return breakpoints_; }
  const std::vector<double>& media_change_days() const { return media_change_days_; }
  const std::vector<Segment>& segments() const { return segments_; }

  /// Index of the segment that holds t; at a breakpoint, the segment starting there (a sample
  /// on a breakpoint sees the value after the change); t == duration maps to the last segment.
  std::size_t segment_at(double t) const;

  /// Input values at t inside segment k (closed form), written to u[0..n_inputs).
  void inputs(std::size_t k, double t, double* u) const;
  /// du/dt at t inside segment k.
  void input_rates(std::size_t k, double t, double* dudt) const;
  /// Parameter vector for segment k: base with the segment's overrides applied.
  void parameters(std::size_t k, const std::vector<double>& base, double* p) const;

 private:
  double duration_ = 0.0;
  std::vector<double> breakpoints_, media_change_days_;
  std::vector<Segment> segments_;
};

}  // namespace osteogrn
