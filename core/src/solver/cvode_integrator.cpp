#include "solver/cvode_integrator.hpp"

#include <cvodes/cvodes.h>
#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>
#include <sunlinsol/sunlinsol_dense.h>
#include <sunlinsol/sunlinsol_klu.h>
#include <sunmatrix/sunmatrix_dense.h>
#include <sunmatrix/sunmatrix_sparse.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "solver/odeint_integrator.hpp"
#include "osteogrn/errors.hpp"
#include "solver/sundials_flags.hpp"
#include "solver/sundials_kernels.hpp"
#include "osteogrn/detail/text_util.hpp"

namespace osteogrn::detail {

namespace {


// RAII handles. Members of CvodeIntegrator are declared context first, so it is freed last.
struct ContextDeleter {
  void operator()(SUNContext ctx) const { SUNContext_Free(&ctx); }
};
struct NVectorDeleter {
  void operator()(N_Vector v) const { N_VDestroy(v); }
};
struct MatrixDeleter {
  void operator()(SUNMatrix m) const { SUNMatDestroy(m); }
};
struct LinSolDeleter {
  void operator()(SUNLinearSolver ls) const { SUNLinSolFree(ls); }
};
struct CvodeDeleter {
  void operator()(void* mem) const { CVodeFree(&mem); }
};
// An N_Vector array from N_VCloneVectorArray with its length.
class VectorArray {
 public:
  VectorArray() = default;
  VectorArray(int count, N_Vector like) : v_(N_VCloneVectorArray(count, like)), count_(count) {}
  VectorArray(const VectorArray&) = delete;
  VectorArray& operator=(const VectorArray&) = delete;
  VectorArray& operator=(VectorArray&& o) noexcept {
    std::swap(v_, o.v_);
    std::swap(count_, o.count_);
    return *this;
  }
  ~VectorArray() {
    if (v_) N_VDestroyVectorArray(v_, count_);
  }
  N_Vector* get() const { return v_; }
  explicit operator bool() const { return v_ != nullptr; }

 private:
  N_Vector* v_ = nullptr;
  int count_ = 0;
};
using ContextPtr = std::unique_ptr<std::remove_pointer_t<SUNContext>, ContextDeleter>;
using NVectorPtr = std::unique_ptr<std::remove_pointer_t<N_Vector>, NVectorDeleter>;
using MatrixPtr = std::unique_ptr<std::remove_pointer_t<SUNMatrix>, MatrixDeleter>;
using LinSolPtr = std::unique_ptr<std::remove_pointer_t<SUNLinearSolver>, LinSolDeleter>;
using CvodePtr = std::unique_ptr<void, CvodeDeleter>;

class CvodeIntegrator final : public Integrator {
 public:
  CvodeIntegrator(OdeSystem& system, const SolverOptions& options)
      : system_(system), options_(options), n_(system.size()) {
    if (n_ == 0) throw OptionError("cannot integrate a system with no states");
    SUNContext ctx = nullptr;
    if (SUNContext_Create(nullptr, &ctx) != 0 || ctx == nullptr)
      throw SolverError("could not create a SUNDIALS context", 0.0, "SUNContext_Create");
    ctx_.reset(ctx);
    y_.reset(N_VNew_Serial(static_cast<sunindextype>(n_), ctx_.get()));
    dky_.reset(N_VNew_Serial(static_cast<sunindextype>(n_), ctx_.get()));
    if (!y_ || !dky_) throw SolverError("out of memory creating CVODES vectors", 0.0, "CV_MEM_FAIL");
    // CVODES clones y_ for all its work vectors, so they all get the optimised kernels.
    use_fast_vector_ops(y_.get());
    use_fast_vector_ops(dky_.get());
    const int lmm = options.method == Method::cvode_adams ? CV_ADAMS : CV_BDF;
    mem_.reset(CVodeCreate(lmm, ctx_.get()));
    if (!mem_) throw SolverError("could not create the CVODES solver", 0.0, "CV_MEM_FAIL");
    // Report CVODES messages through our exceptions instead of stderr.
    check(CVodeSetErrHandlerFn(mem_.get(), &CvodeIntegrator::error_handler, this),
          "CVodeSetErrHandlerFn", 0.0);
  }

  void reset(double t0, const double* y0) override {
    double* y = N_VGetArrayPointer(y_.get());
    std::copy(y0, y0 + n_, y);
    if (!initialized_) {
      check(CVodeInit(mem_.get(), &CvodeIntegrator::rhs_callback, t0, y_.get()), "CVodeInit", t0);
      check(CVodeSStolerances(mem_.get(), options_.rtol, options_.atol), "CVodeSStolerances", t0);
      check(CVodeSetUserData(mem_.get(), this), "CVodeSetUserData", t0);
      // Both methods use Newton iteration with the analytic Jacobian. For cvode_adams this is
      // deliberate: the GRN models are mildly stiff (fast degradation next to slow
      // differentiation), where fixed-point iteration diverges or forces tiny steps, while a
      // dense LU of an analytic Jacobian for tens of species is cheap and reused across steps.
      // Large sparse models use KLU on the structural pattern instead (O(nnz) per setup).
      if (options_.linear_solver == "klu") setup_klu(t0);
      else setup_dense(t0);
      if (options_.max_step > 0.0)
        check(CVodeSetMaxStep(mem_.get(), options_.max_step), "CVodeSetMaxStep", t0);
      initialized_ = true;
    } else {
      // Counters restart at CVodeReInit: bank what the previous segment did.
      base_ = stats_;
      check(CVodeReInit(mem_.get(), t0, y_.get()), "CVodeReInit", t0);
    }
    t_ = t0;
    stepped_ = false;
    ++base_.restarts;
    stats_ = base_;
  }

  // CV_STAGGERED: the state corrector converges first and the sensitivities are corrected
  // afterwards with the same Newton matrix (linear in s: about one iteration per step), so a
  // step whose state Newton iteration fails costs no sensitivity work, and a sensitivity
  // convergence failure does not disturb the state's. (Measured on osteogenic with 6
  // parameters, CV_SIMULTANEOUS costs about the same at rtol 1e-6 and 1e-8.) The
  // all-parameters RHS (CVodeSensInit, not CVodeSensInit1) evaluates the ∂f/∂y and ∂f/∂p
  // tapes once per call for all parameters instead of once per parameter.
  void reset_sensitivities(const double* s0) override {
    if (ns_ == 0) {
      ns_ = system_.n_sensitivities();
      if (ns_ == 0) throw OptionError("reset_sensitivities: the system has no sensitivities");
      const int ns = static_cast<int>(ns_);
      yS_ = VectorArray(ns, y_.get());
      dkyS_ = VectorArray(ns, y_.get());
      if (!yS_ || !dkyS_)
        throw SolverError("out of memory creating sensitivity vectors", t_, "CV_MEM_FAIL");
      s_ptrs_.resize(ns_);
      sdot_ptrs_.resize(ns_);
      for (std::size_t j = 0; j < ns_; ++j) pbar_.push_back(system_.sensitivity_scale(j));
      copy_in(s0);
      check(CVodeSensInit(mem_.get(), ns, CV_STAGGERED, &CvodeIntegrator::sens_rhs_callback,
                          yS_.get()),
            "CVodeSensInit", t_);
      // Tolerances of sensitivity j: rtol and atol / pbar_j (CVodeSensEEtolerances), i.e.
      // the state's tolerances scaled by the parameter's magnitude, since s_j ~ y / θ_j.
      check(CVodeSetSensParams(mem_.get(), nullptr, pbar_.data(), nullptr),
            "CVodeSetSensParams", t_);
      check(CVodeSensEEtolerances(mem_.get()), "CVodeSensEEtolerances", t_);
      // Sensitivities take part in the local error test, so they are as accurate as the state.
      check(CVodeSetSensErrCon(mem_.get(), SUNTRUE), "CVodeSetSensErrCon", t_);
    } else {
      copy_in(s0);
      check(CVodeSensReInit(mem_.get(), CV_STAGGERED, yS_.get()), "CVodeSensReInit", t_);
    }
    s_out_.assign(s0, s0 + ns_ * n_);
  }

  void sensitivities(double* s_out) const override {
    if (ns_ == 0) throw OptionError("sensitivities(): forward sensitivities were not started");
    std::copy(s_out_.begin(), s_out_.end(), s_out);
  }

  void advance(double tout, double tstop, double* y_out) override {
    double* y = N_VGetArrayPointer(y_.get());
    if (tout == t_) {  // nothing to integrate (e.g. a sample at the restart time)
      std::copy(y, y + n_, y_out);
      if (stepped_) current_sensitivities();  // else s_out_ still holds the restart's values
      return;
    }
    if (tout < t_) {  // already stepped past tout: interpolate inside the last step
      interpolate(tout, y_out);
      return;
    }
    check(CVodeSetStopTime(mem_.get(), tstop), "CVodeSetStopTime", t_);
    if (options_.record_steps) {
      // One step per call so that every accepted step can be logged.
      while (t_ < tout) {
        if (stats_.steps >= options_.max_steps) too_much_work(tout);
        double tret = t_;
        const int flag = CVode(mem_.get(), tout, y_.get(), &tret, CV_ONE_STEP);
        stepped_ = true;
        after_solve(flag, tout);
        step_log_.push_back({t_, tret});
        t_ = tret;
      }
      if (tout < t_) {
        interpolate(tout, y_out);
      } else {
        std::copy(y, y + n_, y_out);
        current_sensitivities();
      }
      return;
    }
    // max_steps bounds the whole run: CVODES's per-call limit is set to what is left.
    const long remaining = options_.max_steps - stats_.steps;
    if (remaining <= 0) too_much_work(tout);
    check(CVodeSetMaxNumSteps(mem_.get(), remaining), "CVodeSetMaxNumSteps", t_);
    double tret = t_;
    const int flag = CVode(mem_.get(), tout, y_.get(), &tret, CV_NORMAL);
    stepped_ = true;
    after_solve(flag, tout);
    t_ = tret;
    std::copy(y, y + n_, y_out);
    current_sensitivities();
  }

 private:
  void setup_dense(double t0) {
    A_.reset(SUNDenseMatrix(static_cast<sunindextype>(n_), static_cast<sunindextype>(n_),
                            ctx_.get()));
    if (!A_) throw SolverError("out of memory creating the Jacobian matrix", t0, "CV_MEM_FAIL");
    use_fast_dense_ops(A_.get());
    LS_.reset(SUNLinSol_Dense(y_.get(), A_.get(), ctx_.get()));
    if (!LS_) throw SolverError("could not create the dense linear solver", t0, "CV_MEM_FAIL");
    use_fast_dense_solver(LS_.get());
    check_ls(CVodeSetLinearSolver(mem_.get(), LS_.get(), A_.get()), "CVodeSetLinearSolver", t0);
    check_ls(CVodeSetJacFn(mem_.get(), &CvodeIntegrator::jac_callback), "CVodeSetJacFn", t0);
  }

  // CSC matrix on the system's pattern (diagonal included) and KLU. CVODES zeroes the whole
  // matrix, structure included (SUNMatZero), before each Jacobian call, so the callback
  // rewrites the pattern every time; I - γJ then fits the pattern without reallocation.
  // KLU's default AMD ordering gave the least fill on the 1000-gene GRN benchmark (L+U 29k
  // entries from 3k; COLAMD 36k, natural 58k).
  void setup_klu(double t0) {
    std::vector<std::int64_t> colptr, rows;
    if (!system_.jacobian_pattern(colptr, rows))
      throw OptionError("linear_solver 'klu': this system provides no sparse Jacobian");
    if (colptr.size() != n_ + 1 || colptr.front() != 0 ||
        static_cast<std::size_t>(colptr.back()) != rows.size())
      throw SolverError("malformed sparse Jacobian pattern", t0, "CVLS_ILL_INPUT");
    colptr_.assign(colptr.begin(), colptr.end());
    rowval_.assign(rows.begin(), rows.end());
    A_.reset(SUNSparseMatrix(static_cast<sunindextype>(n_), static_cast<sunindextype>(n_),
                             static_cast<sunindextype>(rowval_.size()), CSC_MAT, ctx_.get()));
    if (!A_) throw SolverError("out of memory creating the sparse Jacobian", t0, "CV_MEM_FAIL");
    write_pattern(A_.get());
    LS_.reset(SUNLinSol_KLU(y_.get(), A_.get(), ctx_.get()));
    if (!LS_) throw SolverError("could not create the KLU linear solver", t0, "CV_MEM_FAIL");
    check_ls(CVodeSetLinearSolver(mem_.get(), LS_.get(), A_.get()), "CVodeSetLinearSolver", t0);
    check_ls(CVodeSetJacFn(mem_.get(), &CvodeIntegrator::sparse_jac_callback), "CVodeSetJacFn",
             t0);
  }

  // Writes the Jacobian pattern into J; false if J cannot hold it.
  bool write_pattern(SUNMatrix J) const {
    if (SUNSparseMatrix_NNZ(J) < static_cast<sunindextype>(rowval_.size()) &&
        SUNSparseMatrix_Reallocate(J, static_cast<sunindextype>(rowval_.size())) != 0)
      return false;
    std::copy(colptr_.begin(), colptr_.end(), SUNSparseMatrix_IndexPointers(J));
    std::copy(rowval_.begin(), rowval_.end(), SUNSparseMatrix_IndexValues(J));
    return true;
  }

  // State (and sensitivities) at tout inside the last step, from the interpolating polynomial.
  void interpolate(double tout, double* y_out) {
    check(CVodeGetDky(mem_.get(), tout, 0, dky_.get()), "CVodeGetDky", tout);
    const double* d = N_VGetArrayPointer(dky_.get());
    std::copy(d, d + n_, y_out);
    if (ns_) {
      check(CVodeGetSensDky(mem_.get(), tout, 0, dkyS_.get()), "CVodeGetSensDky", tout);
      copy_out(dkyS_);
    }
  }
  // Sensitivities at the time CVode() last returned.
  void current_sensitivities() {
    if (!ns_) return;
    double tret = t_;
    check(CVodeGetSens(mem_.get(), &tret, yS_.get()), "CVodeGetSens", t_);
    copy_out(yS_);
  }
  void copy_in(const double* s0) {
    for (std::size_t j = 0; j < ns_; ++j)
      std::copy(s0 + j * n_, s0 + (j + 1) * n_, N_VGetArrayPointer(yS_.get()[j]));
  }
  void copy_out(const VectorArray& v) {
    for (std::size_t j = 0; j < ns_; ++j) {
      const double* d = N_VGetArrayPointer(v.get()[j]);
      std::copy(d, d + n_, s_out_.begin() + static_cast<std::ptrdiff_t>(j * n_));
    }
  }

  static int sens_rhs_callback(int ns, realtype t, N_Vector y, N_Vector /*ydot*/, N_Vector* yS,
                               N_Vector* ySdot, void* user_data, N_Vector, N_Vector) {
    auto* self = static_cast<CvodeIntegrator*>(user_data);
    for (int j = 0; j < ns; ++j) {
      self->s_ptrs_[j] = N_VGetArrayPointer(yS[j]);
      self->sdot_ptrs_[j] = N_VGetArrayPointer(ySdot[j]);
    }
    try {
      self->system_.sensitivity_rhs(t, N_VGetArrayPointer(y), self->s_ptrs_.data(),
                                    self->sdot_ptrs_.data());
    } catch (...) {
      self->pending_ = std::current_exception();
      return -1;
    }
    for (int j = 0; j < ns; ++j) {
      const double* d = self->sdot_ptrs_[j];
      for (std::size_t i = 0; i < self->n_; ++i) {
        if (!std::isfinite(d[i])) {
          self->nonfinite_ = true;
          self->nonfinite_sens_ = true;
          self->nonfinite_t_ = t;
          self->nonfinite_index_ = i;
          return 1;
        }
      }
    }
    return 0;
  }

  static int rhs_callback(realtype t, N_Vector y, N_Vector ydot, void* user_data) {
    auto* self = static_cast<CvodeIntegrator*>(user_data);
    double* out = N_VGetArrayPointer(ydot);
    try {
      self->system_.rhs(t, N_VGetArrayPointer(y), out);
    } catch (...) {
      self->pending_ = std::current_exception();
      return -1;
    }
    for (std::size_t i = 0; i < self->n_; ++i) {
      if (!std::isfinite(out[i])) {
        // Recoverable: CVODES cuts the step and retries; it gives up after repeated failures.
        self->nonfinite_ = true;
        self->nonfinite_sens_ = false;
        self->nonfinite_t_ = t;
        self->nonfinite_index_ = i;
        return 1;
      }
    }
    return 0;
  }

  static int jac_callback(realtype t, N_Vector y, N_Vector /*fy*/, SUNMatrix J, void* user_data,
                          N_Vector, N_Vector, N_Vector) {
    auto* self = static_cast<CvodeIntegrator*>(user_data);
    double* data = SUNDenseMatrix_Data(J);  // column-major, leading dimension n
    try {
      self->system_.jacobian(t, N_VGetArrayPointer(y), data);
    } catch (...) {
      self->pending_ = std::current_exception();
      return -1;
    }
    const std::size_t nn = self->n_ * self->n_;
    for (std::size_t k = 0; k < nn; ++k) {
      if (!std::isfinite(data[k])) {
        self->nonfinite_ = true;
        self->nonfinite_sens_ = false;
        self->nonfinite_t_ = t;
        self->nonfinite_index_ = k % self->n_;
        return 1;
      }
    }
    return 0;
  }

  static int sparse_jac_callback(realtype t, N_Vector y, N_Vector /*fy*/, SUNMatrix J,
                                 void* user_data, N_Vector, N_Vector, N_Vector) {
    auto* self = static_cast<CvodeIntegrator*>(user_data);
    if (!self->write_pattern(J)) return -1;
    double* data = SUNSparseMatrix_Data(J);
    try {
      self->system_.sparse_jacobian(t, N_VGetArrayPointer(y), data);
    } catch (...) {
      self->pending_ = std::current_exception();
      return -1;
    }
    const std::size_t nnz = self->rowval_.size();
    for (std::size_t k = 0; k < nnz; ++k) {
      if (!std::isfinite(data[k])) {
        self->nonfinite_ = true;
        self->nonfinite_sens_ = false;
        self->nonfinite_t_ = t;
        self->nonfinite_index_ = static_cast<std::size_t>(self->rowval_[k]);
        return 1;
      }
    }
    return 0;
  }

  static void error_handler(int error_code, const char* /*module*/, const char* /*function*/,
                            char* msg, void* user_data) {
    if (error_code == CV_WARNING) return;
    auto* self = static_cast<CvodeIntegrator*>(user_data);
    self->last_message_ = msg ? msg : "";
  }

  void check(int flag, const char* what, double t) {
    if (flag >= 0) return;
    throw SolverError(std::string(what) + " failed" +
                          (last_message_.empty() ? std::string() : ": " + last_message_),
                      t, cvode_flag_name(flag));
  }
  void check_ls(int flag, const char* what, double t) {
    if (flag >= 0) return;
    throw SolverError(std::string(what) + " failed", t, cvode_linear_flag_name(flag));
  }

  std::string nonfinite_where() const {
    return std::string(nonfinite_sens_ ? "sensitivity equation of " : "equation of ") +
           system_.state_name(nonfinite_index_);
  }

  [[noreturn]] void too_much_work(double tout) {
    throw SolverError(too_much_work_reason(options_.max_steps, tout, options_.method), t_,
                      "CV_TOO_MUCH_WORK");
  }

  void update_stats() {
    long nst = 0, nfe = 0, nsetups = 0, netf = 0, nni = 0, nncf = 0, nje = 0, nfeLS = 0;
    void* mem = mem_.get();
    CVodeGetNumSteps(mem, &nst);
    CVodeGetNumRhsEvals(mem, &nfe);
    CVodeGetNumLinSolvSetups(mem, &nsetups);
    CVodeGetNumErrTestFails(mem, &netf);
    CVodeGetNumNonlinSolvIters(mem, &nni);
    CVodeGetNumNonlinSolvConvFails(mem, &nncf);
    CVodeGetNumJacEvals(mem, &nje);
    CVodeGetNumLinRhsEvals(mem, &nfeLS);
    stats_ = base_;
    stats_.steps += nst;
    stats_.rhs_evals += nfe + nfeLS;
    stats_.lin_setups += nsetups;
    stats_.err_test_fails += netf;
    stats_.nonlin_iters += nni;
    stats_.nonlin_conv_fails += nncf;
    stats_.jac_evals += nje;
    if (ns_) {
      long nfSe = 0, nniS = 0;
      CVodeGetSensNumRhsEvals(mem, &nfSe);
      CVodeGetSensNumNonlinSolvIters(mem, &nniS);
      stats_.sens_rhs_evals += nfSe;
      stats_.sens_nonlin_iters += nniS;
    }
  }

  // After CVode(): bank statistics, rethrow a callback's exception, or turn a flag into a
  // SolverError whose reason says what to do.
  void after_solve(int flag, double tout) {
    update_stats();
    if (pending_) {
      std::exception_ptr e = pending_;
      pending_ = nullptr;
      std::rethrow_exception(e);
    }
    if (flag >= 0) {
      nonfinite_ = false;  // a rejected trial point that CVODES recovered from
      return;
    }
    double tcur = t_;
    CVodeGetCurrentTime(mem_.get(), &tcur);
    const std::string name = cvode_flag_name(flag);
    std::string reason;
    switch (flag) {
      case CV_TOO_MUCH_WORK:
        reason = too_much_work_reason(options_.max_steps, tout, options_.method);
        if (nonfinite_)  // CVODES kept shrinking the step to stay clear of NaN/Inf values
          reason += "; note: the model returned a non-finite value (NaN or Inf) in the " +
                    nonfinite_where() + " at t = " + format_short(nonfinite_t_) +
                    ", which the solver could not step past";
        break;
      case CV_TOO_MUCH_ACC:
        reason = "the requested accuracy is too high for double precision; raise rtol/atol";
        break;
      case CV_ERR_FAILURE:
        reason = "the local error test failed repeatedly (or the step size reached its minimum); "
                 "the solution may have a singularity, or try a stiff method / looser tolerances";
        break;
      case CV_CONV_FAILURE:
        reason = "the Newton iteration failed to converge repeatedly; check the Jacobian and the "
                 "model for singularities, or loosen the tolerances";
        break;
      case CV_RHSFUNC_FAIL:
      case CV_FIRST_RHSFUNC_ERR:
      case CV_REPTD_RHSFUNC_ERR:
      case CV_UNREC_RHSFUNC_ERR:
      case CV_LSETUP_FAIL:
      case CV_SRHSFUNC_FAIL:
      case CV_FIRST_SRHSFUNC_ERR:
      case CV_REPTD_SRHSFUNC_ERR:
        if (nonfinite_) {
          tcur = nonfinite_t_;
          reason = "the model returned a non-finite value (NaN or Inf) in the " +
                   nonfinite_where() + " at t = " + format_short(nonfinite_t_) +
                   "; check for division by zero, log/sqrt of negative values or overflow";
          break;
        }
        [[fallthrough]];
      default:
        reason = "CVODES failed";
        break;
    }
    if (!last_message_.empty()) reason += " [CVODES: " + last_message_ + "]";
    nonfinite_ = false;
    last_message_.clear();
    throw SolverError(reason, tcur, name);
  }

  // Declaration order matters: the context is created first and destroyed last.
  ContextPtr ctx_;
  NVectorPtr y_, dky_;
  MatrixPtr A_;
  LinSolPtr LS_;
  CvodePtr mem_;
  VectorArray yS_, dkyS_;  // sensitivities (CVODES in/out) and their interpolation

  OdeSystem& system_;
  SolverOptions options_;
  std::size_t n_;
  bool initialized_ = false;
  double t_ = 0.0;  // time of the solution held in y_
  bool stepped_ = false;  // CVode() has run since the last reset
  SolverStats base_;
  std::exception_ptr pending_;
  bool nonfinite_ = false;
  bool nonfinite_sens_ = false;
  double nonfinite_t_ = 0.0;
  std::size_t nonfinite_index_ = 0;
  std::string last_message_;
  // Forward sensitivities (ns_ = 0: off). Pointer tables are sized once: no allocation in the
  // sensitivity callback.
  std::size_t ns_ = 0;
  std::vector<double> pbar_, s_out_;
  std::vector<const double*> s_ptrs_;
  std::vector<double*> sdot_ptrs_;
  // KLU: the Jacobian's CSC pattern (diagonal included), as SUNDIALS indexes it.
  std::vector<sunindextype> colptr_, rowval_;
};

}  // namespace

std::unique_ptr<Integrator> make_cvode_integrator(OdeSystem& system, const SolverOptions& options) {
  return std::make_unique<CvodeIntegrator>(system, options);
}

std::unique_ptr<Integrator> make_integrator(OdeSystem& system, const SolverOptions& options) {
  switch (options.method) {
    case Method::cvode_bdf:
    case Method::cvode_adams:
      return make_cvode_integrator(system, options);
    case Method::dopri5:
    case Method::rosenbrock4:
      return make_odeint_integrator(system, options);
  }
  throw OptionError("unknown integration method");
}

std::string too_much_work_reason(long max_steps, double tout, Method method) {
  std::string advice = "increase max_steps";
  if (method == Method::dopri5 || method == Method::cvode_adams)
    advice += " or check the model for stiffness (try method 'cvode_bdf' or 'rosenbrock4')";
  else
    advice += " or check the model for stiffness or fast oscillations";
  return "maximum number of steps (" + std::to_string(max_steps) + ") reached before t = " +
         format_short(tout) + "; " + advice;
}

}  // namespace osteogrn::detail
