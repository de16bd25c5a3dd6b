// ReturnCode names and hints: the one place that says what each failure means to a user.
#include "osteogrn/result.hpp"

namespace osteogrn {

namespace {

struct CodeText {
  const char* name;
  const char* hint;
};

// In enum order (static_assert below).
constexpr CodeText kCodes[] = {
    {"success", ""},
    {"max_steps", "raise max_steps, or use a stiff method (cvode_bdf) if the model is stiff"},
    {"step_too_small",
     "the step size fell below the rounding resolution: the solution may blow up or be singular "
     "here; check the model near this time, or loosen rtol/atol"},
    {"convergence_failure",
     "the Newton iteration kept failing: check the model for singularities or discontinuities, "
     "loosen rtol/atol, or try rosenbrock4"},
    {"error_test_failure",
     "the error test kept failing: the solution may have a singularity or a discontinuity here; "
     "check the model, loosen rtol/atol, or try another method"},
    {"linear_solver_failure",
     "the Newton matrix could not be factorised or solved: check the Jacobian for singularities, "
     "or try linear_solver='dense'"},
    {"rhs_failure", "evaluating the model's right-hand side failed; see the reason"},
    {"non_finite",
     "check the model for division by zero, log/sqrt of negative values or overflow"},
    {"cancelled", "the run was interrupted (Ctrl-C or a cancelled batch); run it again"},
    {"too_close",
     "a sample time is too close to the previous one to integrate between them; merge nearly "
     "equal sample times"},
    {"other", "see the reason; if the input looks valid, please report it"},
};
static_assert(sizeof(kCodes) / sizeof(kCodes[0]) == kReturnCodeCount,
              "one name and hint per ReturnCode member");

}  // namespace

const char* to_string(ReturnCode code) {
  const int i = static_cast<int>(code);
  return i >= 0 && i < kReturnCodeCount ? kCodes[i].name : "other";
}

const char* hint(ReturnCode code) {
  const int i = static_cast<int>(code);
  return i >= 0 && i < kReturnCodeCount ? kCodes[i].hint : kCodes[kReturnCodeCount - 1].hint;
}

}  // namespace osteogrn
