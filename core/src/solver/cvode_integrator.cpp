#include "solver/cvode_integrator.hpp"

#include <cvodes/cvodes.h>
#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>
#include <sunlinsol/sunlinsol_dense.h>
#include <sunlinsol/sunlinsol_klu.h>
#include <sunlinsol/sunlinsol_spgmr.h>
#include <sunmatrix/sunmatrix_dense.h>
#include <sunmatrix/sunmatrix_sparse.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "solver/odeint_integrator.hpp"
#include "osteogrn/errors.hpp"
#include "solver/sundials_flags.hpp"
#include "solver/sparse_preconditioner.hpp"
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
      throw SolverError(ReturnCode::other, "could not create a SUNDIALS context", 0.0,
                        "SUNContext_Create");
    ctx_.reset(ctx);
    y_.reset(N_VNew_Serial(static_cast<sunindextype>(n_), ctx_.get()));
    dky_.reset(N_VNew_Serial(static_cast<sunindextype>(n_), ctx_.get()));
    if (!y_ || !dky_) throw std::bad_alloc();  // N_VNew_Serial fails only when malloc does
    // CVODES clones y_ for all its work vectors, so they all get the optimised kernels.
    use_fast_vector_ops(y_.get());
    use_fast_vector_ops(dky_.get());
    const int lmm = options.method == Method::cvode_adams ? CV_ADAMS : CV_BDF;
    mem_.reset(CVodeCreate(lmm, ctx_.get()));
    if (!mem_) throw std::bad_alloc();  // CVodeCreate fails only when malloc does
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
      // Large sparse models use KLU on the structural pattern instead (O(nnz) per setup), or
      // GMRES with an incomplete-LU preconditioner where exact LU fills in.
      if (options_.linear_solver == LinearSolver::klu) setup_klu(t0);
      else if (options_.linear_solver == LinearSolver::gmres) setup_gmres(t0);
      else setup_dense(t0);
      if (options_.max_step > 0.0)
        check(CVodeSetMaxStep(mem_.get(), options_.max_step), "CVodeSetMaxStep", t0);
      if (const std::size_t nr = system_.n_roots()) {
        // Event triggers: CVODES locates sign changes of g between steps (and keeps them
        // across CVodeReInit). A root exactly at a restart is ignored until g moves away.
        check(CVodeRootInit(mem_.get(), static_cast<int>(nr), &CvodeIntegrator::root_callback),
              "CVodeRootInit", t0);
        check(CVodeSetNoInactiveRootWarn(mem_.get()), "CVodeSetNoInactiveRootWarn", t0);
        roots_found_.assign(nr, 0);
      }
      initialized_ = true;
    } else {
      // Counters restart at CVodeReInit: bank what the previous segment did.
      base_ = stats_;
      prec_jac_evals_ = 0;  // counted per segment, like CVODES' own counters
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
        throw std::bad_alloc();
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

  bool advance(double tout, double tstop, double* y_out) override {
    double* y = N_VGetArrayPointer(y_.get());
    if (tout == t_) {  // nothing to integrate (e.g. a sample at the restart time)
      std::copy(y, y + n_, y_out);
      if (stepped_) current_sensitivities();  // else s_out_ still holds the restart's values
      return false;
    }
    if (tout < t_) {  // already stepped past tout: interpolate inside the last step
      interpolate(tout, y_out);
      return false;
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
        if (flag == CV_ROOT_RETURN) return at_root(y_out);
      }
      if (tout < t_) {
        interpolate(tout, y_out);
      } else {
        std::copy(y, y + n_, y_out);
        current_sensitivities();
      }
      return false;
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
    if (flag == CV_ROOT_RETURN) return at_root(y_out);
    std::copy(y, y + n_, y_out);
    current_sensitivities();
    return false;
  }

 private:
  void setup_dense(double t0) {
    A_.reset(SUNDenseMatrix(static_cast<sunindextype>(n_), static_cast<sunindextype>(n_),
                            ctx_.get()));
    if (!A_) throw std::bad_alloc();
    use_fast_dense_ops(A_.get());
    LS_.reset(SUNLinSol_Dense(y_.get(), A_.get(), ctx_.get()));
    if (!LS_) throw std::bad_alloc();
    use_fast_dense_solver(LS_.get());
    check_ls(CVodeSetLinearSolver(mem_.get(), LS_.get(), A_.get()), "CVodeSetLinearSolver", t0);
    check_ls(CVodeSetJacFn(mem_.get(), &CvodeIntegrator::jac_callback), "CVodeSetJacFn", t0);
  }

  // CSC matrix on the system's pattern (diagonal included) and KLU. CVODES zeroes the whole
  // matrix, structure included (SUNMatZero), before each Jacobian call, so the callback
  // rewrites the pattern every time; I - γJ then fits the pattern without reallocation.
  // AMD is set explicitly: SUNDIALS' default is COLAMD, which fills in more on the GRN benchmark
  // (L+U: 1000 genes 29k entries from 3k, COLAMD 36k, natural 58k; 5000 genes 595k from 15k,
  // COLAMD 772k, and 26 s instead of 41 s of CPU for the 21 days).
  void setup_klu(double t0) {
    std::vector<std::int64_t> colptr, rows;
    if (!system_.jacobian_pattern(colptr, rows))
      throw OptionError("linear_solver 'klu': this system provides no sparse Jacobian");
    if (colptr.size() != n_ + 1 || colptr.front() != 0 ||
        static_cast<std::size_t>(colptr.back()) != rows.size())
      throw InternalError("malformed sparse Jacobian pattern");
    colptr_.assign(colptr.begin(), colptr.end());
    rowval_.assign(rows.begin(), rows.end());
    A_.reset(SUNSparseMatrix(static_cast<sunindextype>(n_), static_cast<sunindextype>(n_),
                             static_cast<sunindextype>(rowval_.size()), CSC_MAT, ctx_.get()));
    if (!A_) throw std::bad_alloc();
    write_pattern(A_.get());
    LS_.reset(SUNLinSol_KLU(y_.get(), A_.get(), ctx_.get()));
    if (!LS_) throw std::bad_alloc();
    if (SUNLinSol_KLUSetOrdering(LS_.get(), 0) != SUNLS_SUCCESS)  // 0: AMD
      throw std::logic_error("internal: SUNLinSol_KLUSetOrdering refused AMD");
    check_ls(CVodeSetLinearSolver(mem_.get(), LS_.get(), A_.get()), "CVodeSetLinearSolver", t0);
    check_ls(CVodeSetJacFn(mem_.get(), &CvodeIntegrator::sparse_jac_callback), "CVodeSetJacFn",
             t0);
  }

  // Preconditioned GMRES, for large sparse systems whose exact LU fills in (a random network's
  // does: on the 10,000-gene benchmark GRN L+U holds 76x J's entries and KLU takes 317 s of CPU
  // for 21 days, mostly in klu_l_refactor; GMRES 1.5 s).
  // The preconditioner is ILU(0) of I - γJ on J's own pattern (sparse_preconditioner.hpp),
  // with J evaluated when CVODES asks for a new one and refactored for every new γ. J·v uses
  // the same stored J, so the Newton iteration is the modified Newton of dense/KLU (J lagged)
  // with no extra RHS evaluations; CVODES' difference-quotient J·v took the same steps and
  // 35 % more time on the 5,000-gene GRN (one RHS per Krylov iteration), a fresh J per Newton
  // iteration 2.5x. SPGMR's default Krylov dimension (5) suffices: ~1 GMRES iteration per
  // Newton iteration on the GRNs; left preconditioning, as CVODES recommends for BDF.
  void setup_gmres(double t0) {
    std::vector<std::int64_t> colptr, rows;
    if (!system_.jacobian_pattern(colptr, rows))
      throw OptionError("linear_solver 'gmres': this system provides no sparse Jacobian");
    if (colptr.size() != n_ + 1)
      throw std::logic_error("internal: sparse Jacobian pattern of the wrong size");
    ilu_ = std::make_unique<SparseIlu0>(colptr, rows);
    rowval_.assign(rows.begin(), rows.end());  // rows of J's entries, for non-finite messages
    LS_.reset(SUNLinSol_SPGMR(y_.get(), SUN_PREC_LEFT, 0, ctx_.get()));  // 0: default dimension
    if (!LS_) throw std::bad_alloc();
    check_ls(CVodeSetLinearSolver(mem_.get(), LS_.get(), nullptr), "CVodeSetLinearSolver", t0);
    check_ls(CVodeSetPreconditioner(mem_.get(), &CvodeIntegrator::prec_setup,
                                    &CvodeIntegrator::prec_solve),
             "CVodeSetPreconditioner", t0);
    check_ls(CVodeSetJacTimes(mem_.get(), nullptr, &CvodeIntegrator::jac_times),
             "CVodeSetJacTimes", t0);
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
  // CVode() stopped at a root: y_ and the sensitivities are its values there.
  bool at_root(double* y_out) {
    const double* y = N_VGetArrayPointer(y_.get());
    std::copy(y, y + n_, y_out);
    current_sensitivities();
    root_time_ = t_;
    check(CVodeGetRootInfo(mem_.get(), roots_found_.data()), "CVodeGetRootInfo", t_);
    return true;
  }

  static int root_callback(realtype t, N_Vector y, realtype* g, void* user_data) {
    auto* self = static_cast<CvodeIntegrator*>(user_data);
    try {
      self->system_.roots(t, N_VGetArrayPointer(y), g);
      return 0;
    } catch (...) {
      self->pending_ = std::current_exception();
      return -1;
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
    for (int j = 0; j < ns; ++j)
      if (self->note_nonfinite(self->sdot_ptrs_[j], self->n_, t, true, Identity{})) return 1;
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
    // Recoverable (1): CVODES cuts the step and retries; it gives up after repeated failures.
    return self->note_nonfinite(out, self->n_, t, false, Identity{}) ? 1 : 0;
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
    const std::size_t n = self->n_;  // column-major: entry k is in row k % n
    return self->note_nonfinite(data, n * n, t, false, [n](std::size_t k) { return k % n; }) ? 1
                                                                                            : 0;
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
    const auto row = [self](std::size_t k) { return static_cast<std::size_t>(self->rowval_[k]); };
    return self->note_nonfinite(data, self->rowval_.size(), t, false, row) ? 1 : 0;
  }

  // GMRES: a new J when CVODES does not vouch for the stored one (jok false), then ILU(0) of
  // I - γJ. A NaN/Inf in J or a zero pivot is recoverable (1): CVODES cuts the step and retries.
  static int prec_setup(realtype t, N_Vector y, N_Vector /*fy*/, booleantype jok,
                        booleantype* jcur, realtype gamma, void* user_data) {
    auto* self = static_cast<CvodeIntegrator*>(user_data);
    *jcur = jok ? SUNFALSE : SUNTRUE;
    if (!jok) {
      double* values = self->ilu_->jacobian_values();
      try {
        self->system_.sparse_jacobian(t, N_VGetArrayPointer(y), values);
      } catch (...) {
        self->pending_ = std::current_exception();
        return -1;
      }
      ++self->prec_jac_evals_;
      const auto row = [self](std::size_t k) { return static_cast<std::size_t>(self->rowval_[k]); };
      if (self->note_nonfinite(values, self->rowval_.size(), t, false, row)) return 1;
    }
    return self->ilu_->factor(gamma) ? 0 : 1;
  }
  static int prec_solve(realtype /*t*/, N_Vector /*y*/, N_Vector /*fy*/, N_Vector r, N_Vector z,
                        realtype /*gamma*/, realtype /*delta*/, int /*lr*/, void* user_data) {
    static_cast<CvodeIntegrator*>(user_data)->ilu_->solve(N_VGetArrayPointer(r),
                                                          N_VGetArrayPointer(z));
    return 0;
  }
  static int jac_times(N_Vector v, N_Vector Jv, realtype /*t*/, N_Vector /*y*/, N_Vector /*fy*/,
                       void* user_data, N_Vector /*tmp*/) {
    static_cast<CvodeIntegrator*>(user_data)->ilu_->multiply(N_VGetArrayPointer(v),
                                                             N_VGetArrayPointer(Jv));
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
    if (flag == CV_MEM_FAIL) throw std::bad_alloc();
    throw SolverError(cvode_return_code(flag),
                      std::string(what) + " failed" +
                          (last_message_.empty() ? std::string() : ": " + last_message_),
                      t, cvode_flag_name(flag));
  }
  void check_ls(int flag, const char* what, double t) {
    if (flag >= 0) return;
    if (flag == CVLS_MEM_FAIL) throw std::bad_alloc();
    throw SolverError(ReturnCode::linear_solver_failure, std::string(what) + " failed", t,
                      cvode_linear_flag_name(flag));
  }

  struct Identity {
    std::size_t operator()(std::size_t k) const { return k; }
  };
  // The one non-finite scan of the callbacks: remembers the first NaN/Inf among data[0, count)
  // (time, and the state state_of(k) that entry k belongs to) for the failure message.
  template <class StateOf>
  bool note_nonfinite(const double* data, std::size_t count, double t, bool sens,
                      StateOf state_of) {
    for (std::size_t k = 0; k < count; ++k) {
      if (!std::isfinite(data[k])) {
        nonfinite_ = true;
        nonfinite_sens_ = sens;
        nonfinite_t_ = t;
        nonfinite_index_ = state_of(k);
        return true;
      }
    }
    return false;
  }

  std::string nonfinite_where() const {
    return std::string(nonfinite_sens_ ? "sensitivity equation of " : "equation of ") +
           system_.state_name(nonfinite_index_);
  }

  [[noreturn]] void too_much_work(double tout) {
    throw SolverError(ReturnCode::max_steps,
                      too_much_work_reason(options_.max_steps, tout, options_.method), t_,
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
    nje += prec_jac_evals_;  // GMRES: Jacobians evaluated for the preconditioner
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
    ReturnCode code = cvode_return_code(flag, nonfinite_);
    // Steps used up while shrinking the step to stay clear of a NaN/Inf right where CVODES
    // stopped: the NaN is the cause, and more steps would not help.
    if (code == ReturnCode::max_steps && nonfinite_ &&
        std::abs(tcur - nonfinite_t_) <= 1e-6 * std::max(1.0, std::abs(tcur)))
      code = ReturnCode::non_finite;
    std::string reason;
    switch (code) {
      case ReturnCode::max_steps:
        reason = too_much_work_reason(options_.max_steps, tout, options_.method);
        if (nonfinite_)  // CVODES kept shrinking the step to stay clear of NaN/Inf values
          reason += "; note: the model returned a non-finite value (NaN or Inf) in the " +
                    nonfinite_where() + " at t = " + format_short(nonfinite_t_) +
                    ", which the solver could not step past";
        break;
      case ReturnCode::step_too_small:
        reason = "the requested accuracy is beyond double precision at this step size";
        break;
      case ReturnCode::error_test_failure:
        reason = "the local error test failed repeatedly (or the step size reached its minimum)";
        break;
      case ReturnCode::convergence_failure:
        reason = "the Newton iteration failed to converge repeatedly";
        break;
      case ReturnCode::non_finite:
        tcur = nonfinite_t_;
        reason = "the model returned a non-finite value (NaN or Inf) in the " +
                 nonfinite_where() + " at t = " + format_short(nonfinite_t_);
        break;
      default:
        reason = "CVODES failed";
        break;
    }
    if (!last_message_.empty()) reason += " [CVODES: " + last_message_ + "]";
    nonfinite_ = false;
    last_message_.clear();
    throw SolverError(code, reason, tcur, cvode_flag_name(flag));
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
  // KLU: the Jacobian's CSC pattern (diagonal included), as SUNDIALS indexes it (GMRES: rowval_).
  std::vector<sunindextype> colptr_, rowval_;
  // GMRES: the ILU(0) preconditioner holding J, and the Jacobians it evaluated this segment.
  std::unique_ptr<SparseIlu0> ilu_;
  long prec_jac_evals_ = 0;
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
  // The ReturnCode::max_steps hint (raise max_steps or use a stiff method) follows in what().
  std::string out = "maximum number of steps (" + std::to_string(max_steps) +
                    ") reached before t = " + format_short(tout) + " with method " +
                    to_string(method);
  if (method == Method::cvode_bdf || method == Method::rosenbrock4)
    out += " (already stiff: the model may oscillate fast)";
  return out;
}

}  // namespace osteogrn::detail
