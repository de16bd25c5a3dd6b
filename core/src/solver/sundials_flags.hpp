#pragma once
// Internal: names of SUNDIALS return flags for error messages (CV_TOO_MUCH_WORK, ...).
#include <string>

namespace osteogrn::detail {

/// CVODES return flag -> its macro name, e.g. -1 -> "CV_TOO_MUCH_WORK".
std::string cvode_flag_name(int flag);

/// CVLS (linear solver interface) return flag -> its macro name, e.g. -6 -> "CVLS_JACFUNC_UNRECVR".
std::string cvode_linear_flag_name(int flag);

}  // namespace osteogrn::detail
