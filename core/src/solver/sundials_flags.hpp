#pragma once
// Internal: names of SUNDIALS return flags for error messages (CV_TOO_MUCH_WORK, ...).
#include <string>

#include "osteogrn/result.hpp"

namespace osteogrn::detail {

/// CVODES return flag -> its macro name, e.g. -1 -> "CV_TOO_MUCH_WORK".
std::string cvode_flag_name(int flag);

/// CVODES return flag -> ReturnCode (flags >= 0 are success). `nonfinite`: the model returned
/// NaN/Inf during the failed call, which makes a right-hand-side or Jacobian (linear setup)
/// failure a non_finite one.
ReturnCode cvode_return_code(int flag, bool nonfinite = false);

/// CVLS (linear solver interface) return flag -> its macro name, e.g. -6 -> "CVLS_JACFUNC_UNRECVR".
std::string cvode_linear_flag_name(int flag);

}  // namespace osteogrn::detail
