#pragma once
// Internal: the one check of user sample times, shared by simulate() and the batch runner.
#include <string>
#include <vector>

namespace osteogrn::detail {

/// OptionError unless t is finite, sorted and within [0, upper]; `range` describes the allowed
/// interval in the message (e.g. "[0, duration] = [0, 21]").
void check_sample_times(const std::vector<double>& t, double upper, const std::string& range);

}  // namespace osteogrn::detail
