#pragma once
// Internal: the one lookup of sensitivity parameter names, shared by simulate() and
// steady_state().
#include <cstddef>
#include <string>
#include <vector>

#include "osteogrn/model.hpp"

namespace osteogrn::detail {

/// Parameter indices of the requested sensitivity names, in order; OptionError listing the
/// model's valid parameters for a name it does not have.
std::vector<std::size_t> sensitivity_indices(const Model& model,
                                             const std::vector<std::string>& names);

}  // namespace osteogrn::detail
