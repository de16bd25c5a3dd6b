#include "solver/sundials_flags.hpp"

#include <cvodes/cvodes.h>
#include <cvodes/cvodes_ls.h>

#include <cstdlib>
#include <memory>

namespace osteogrn::detail {

namespace {
// CVodeGet*ReturnFlagName return a malloc'ed string that the caller frees.
std::string take(char* name, int flag) {
  std::unique_ptr<char, decltype(&std::free)> owned(name, &std::free);
  if (!owned) return "flag " + std::to_string(flag);
  return std::string(owned.get());
}
}  // namespace

std::string cvode_flag_name(int flag) { return take(CVodeGetReturnFlagName(flag), flag); }

ReturnCode cvode_return_code(int flag, bool nonfinite) {
  if (flag >= 0) return ReturnCode::success;
  switch (flag) {
    case CV_TOO_MUCH_WORK:
      return ReturnCode::max_steps;
    case CV_TOO_MUCH_ACC:
      return ReturnCode::step_too_small;
    case CV_ERR_FAILURE:
      return ReturnCode::error_test_failure;
    case CV_CONV_FAILURE:
    case CV_NLS_FAIL:
    case CV_NLS_SETUP_FAIL:
    case CV_CONSTR_FAIL:
      return ReturnCode::convergence_failure;
    case CV_LINIT_FAIL:
    case CV_LSETUP_FAIL:
    case CV_LSOLVE_FAIL:
      // A Jacobian callback that saw NaN/Inf fails the linear setup.
      return nonfinite ? ReturnCode::non_finite : ReturnCode::linear_solver_failure;
    case CV_RHSFUNC_FAIL:
    case CV_FIRST_RHSFUNC_ERR:
    case CV_REPTD_RHSFUNC_ERR:
    case CV_UNREC_RHSFUNC_ERR:
    case CV_RTFUNC_FAIL:
    case CV_QRHSFUNC_FAIL:
    case CV_FIRST_QRHSFUNC_ERR:
    case CV_REPTD_QRHSFUNC_ERR:
    case CV_UNREC_QRHSFUNC_ERR:
    case CV_SRHSFUNC_FAIL:
    case CV_FIRST_SRHSFUNC_ERR:
    case CV_REPTD_SRHSFUNC_ERR:
    case CV_UNREC_SRHSFUNC_ERR:
    case CV_QSRHSFUNC_FAIL:
    case CV_FIRST_QSRHSFUNC_ERR:
    case CV_REPTD_QSRHSFUNC_ERR:
    case CV_UNREC_QSRHSFUNC_ERR:
    case CV_PROJFUNC_FAIL:
    case CV_REPTD_PROJFUNC_ERR:
      return nonfinite ? ReturnCode::non_finite : ReturnCode::rhs_failure;
    case CV_TOO_CLOSE:
      return ReturnCode::too_close;
    default:  // memory, bad input to SUNDIALS, vector operations, unrecognised
      return ReturnCode::other;
  }
}

std::string cvode_linear_flag_name(int flag) {
  return take(CVodeGetLinReturnFlagName(flag), flag);
}

}  // namespace osteogrn::detail
