#include "solver/odeint_integrator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/numeric/odeint.hpp>
#include <boost/numeric/ublas/matrix.hpp>
#include <boost/numeric/ublas/vector.hpp>

#include "osteogrn/errors.hpp"
#include "osteogrn/detail/text_util.hpp"

namespace osteogrn::detail {

namespace {

namespace odeint = boost::numeric::odeint;
namespace ublas = boost::numeric::ublas;


constexpr double kEps = std::numeric_limits<double>::epsilon();

// A time within a few ulps of tstop counts as tstop: t + (tstop - t) need not round to tstop.
bool reached(double t, double tstop) {
  return t >= tstop || tstop - t <= 8.0 * kEps * std::max(1.0, std::abs(tstop));
}

// Shared control flow of both odeint methods: a dense-output stepper restarted at every reset,
// stepped one accepted step at a time, never across tstop, sampled by calc_state.
//   Dense: the odeint dense-output stepper type; State: its state type.
template <class Dense, class State>
class OdeintIntegrator : public Integrator {
 public:
  OdeintIntegrator(OdeSystem& system, const SolverOptions& options, Dense dense)
      : system_(system), options_(options), n_(system.size()), prototype_(std::move(dense)),
        x_(n_), tmp_(n_), nr_(system.n_roots()), g_(nr_), g_lo_(nr_), sign_(nr_), root_x_(n_) {
    roots_found_.assign(nr_, 0);
  }

  void reset(double t0, const double* y0) override {
    std::copy(y0, y0 + n_, &x_[0]);
    // A fresh stepper per segment: no controller memory carries across a discontinuity.
    dense_.emplace(prototype_);
    t_ = t0;
    started_ = false;
    at_stop_ = false;
    nonfinite_ = false;
    ++stats_.restarts;
    if (nr_) {
      // Signs of the roots at the restart; a root at exactly 0 here counts from where it
      // first moves away (as in CVODES).
      system_.roots(t0, y0, g_.data());
      for (std::size_t i = 0; i < nr_; ++i) sign_[i] = g_[i] > 0 ? 1 : g_[i] < 0 ? -1 : 0;
      t_checked_ = t0;
    }
  }

  bool advance(double tout, double tstop, double* y_out) override {
    if (!started_) {
      if (tout == t_) {  // a sample at the restart time
        std::copy(&x_[0], &x_[0] + n_, y_out);
        return false;
      }
      // A small first step: the controller grows it at most 5x per accepted step.
      double dt0 = 1e-6 * std::max(tstop - t_, 1e-6);
      if (options_.max_step > 0.0) dt0 = std::min(dt0, options_.max_step);
      dense_->initialize(x_, t_, dt0);
      started_ = true;
    }
    try {
      // Roots in the part of the last step not yet searched (after a root inside it), then
      // in each new step, up to tout.
      if (nr_ && find_root(std::min(tout, step_end(tstop)))) return at_root(y_out);
      while (!at_stop_ && dense_->current_time() < tout) {
        step(tout, tstop);
        if (nr_ && find_root(std::min(tout, step_end(tstop)))) return at_root(y_out);
      }
    } catch (const odeint::odeint_error& e) {
      // odeint gives up after 500 rejected trial steps in a row (step size adjustment failed).
      throw SolverError(step_failure_code(),
                        std::string("no acceptable step size found (") + e.what() + ")" +
                            nonfinite_note(),
                        dense_->current_time(), "STEP_SIZE_UNDERFLOW");
    }
    const double t_now = at_stop_ ? tstop : dense_->current_time();
    if (tout >= t_now) {
      const State& x = dense_->current_state();
      std::copy(&x[0], &x[0] + n_, y_out);
    } else {
      dense_->calc_state(tout, tmp_);
      std::copy(&tmp_[0], &tmp_[0] + n_, y_out);
    }
    return false;
  }

 protected:
  virtual std::pair<double, double> do_step() = 0;
  virtual void finish_stats() = 0;

  // Called by the rhs wrappers: remembers where the model last gave NaN/Inf, for messages.
  void note_rhs(const double* f, double t) {
    for (std::size_t i = 0; i < n_; ++i) {
      if (!std::isfinite(f[i])) {
        nonfinite_ = true;
        nonfinite_t_ = t;
        nonfinite_index_ = i;
        return;
      }
    }
  }
  // A step size that collapses (or a step budget used up) where the model last gave NaN/Inf
  // fails because of them.
  bool nonfinite_at(double t) const {
    return nonfinite_ && std::abs(t - nonfinite_t_) <= 1e-6 * std::max(1.0, std::abs(t));
  }
  ReturnCode step_failure_code() const {
    return nonfinite_at(dense_->current_time()) ? ReturnCode::non_finite
                                                : ReturnCode::step_too_small;
  }
  std::string nonfinite_note() const {
    if (!nonfinite_) return {};
    return "; note: the model returned a non-finite value (NaN or Inf) in the equation of " +
           system_.state_name(nonfinite_index_) + " at t = " + format_short(nonfinite_t_) +
           ", which the solver could not step past";
  }

  OdeSystem& system_;
  SolverOptions options_;
  std::size_t n_;
  bool nonfinite_ = false;
  double nonfinite_t_ = 0.0;
  std::size_t nonfinite_index_ = 0;
  Dense prototype_;  // as constructed, before any step
  std::optional<Dense> dense_;  // re-created from prototype_ at each reset (not assignable)

 private:
  void step(double tout, double tstop) {
    if (stats_.steps >= options_.max_steps)
      throw SolverError(nonfinite_at(dense_->current_time()) ? ReturnCode::non_finite
                                                             : ReturnCode::max_steps,
                        too_much_work_reason(options_.max_steps, tout, options_.method) +
                            nonfinite_note(),
                        dense_->current_time(), "TOO_MUCH_WORK");
    const double t = dense_->current_time();
    const double dt = dense_->current_time_step();
    if (!(dt > 0.0) || !std::isfinite(dt) || dt < 4.0 * kEps * std::max(1.0, std::abs(t)))
      throw SolverError(step_failure_code(),
                        "step size underflow (dt = " + format_short(dt) + ")" + nonfinite_note(),
                        t, "STEP_SIZE_UNDERFLOW");
    if (t + dt > tstop) {
      // Shrink the next step to land on tstop: restart the stepper there with dt = tstop - t.
      State x = dense_->current_state();
      dense_->initialize(x, t, tstop - t);
    }
    const std::pair<double, double> span = do_step();
    ++stats_.steps;
    const State& x = dense_->current_state();
    for (std::size_t i = 0; i < n_; ++i) {
      if (!std::isfinite(x[i])) {
        finish_stats();
        throw SolverError(ReturnCode::non_finite,
                          "the solution of " + system_.state_name(i) +
                              " became non-finite (NaN or Inf)",
                          span.second, "NONFINITE_STATE");
      }
    }
    at_stop_ = reached(span.second, tstop);
    if (options_.record_steps)
      step_log_.push_back({span.first, at_stop_ ? tstop : span.second});
    finish_stats();
  }

  // End of the integrated range: the last step's end (tstop once the last step reached it).
  double step_end(double tstop) const {
    if (!started_) return t_;
    return at_stop_ ? tstop : dense_->current_time();
  }

  // The state at t on the dense output (the step's end state at its end).
  void state_at(double t, double* y) {
    if (t >= dense_->current_time()) {
      const State& x = dense_->current_state();
      std::copy(&x[0], &x[0] + n_, y);
    } else {
      dense_->calc_state(t, tmp_);
      std::copy(&tmp_[0], &tmp_[0] + n_, y);
    }
  }

  // Did root i cross zero by the time its value is g (sign_ is its last non-zero sign)?
  bool crossed(std::size_t i, double g) const {
    return sign_[i] != 0 && (sign_[i] > 0 ? g <= 0.0 : g >= 0.0);
  }

  // Searches (t_checked_, t_hi] for the earliest zero crossing of any root on the dense
  // output, by bisection to a few ulps of time. On a crossing: root_time_, root_x_ and
  // roots_found_ are set (the point just past the crossing, like CVODES) and true returned.
  bool find_root(double t_hi) {
    if (!(t_hi > t_checked_)) return false;
    state_at(t_hi, root_x_.data());
    system_.roots(t_hi, root_x_.data(), g_.data());
    bool any = false;
    for (std::size_t i = 0; i < nr_; ++i) any = any || crossed(i, g_[i]);
    if (!any) {
      for (std::size_t i = 0; i < nr_; ++i)
        if (g_[i] != 0.0) sign_[i] = g_[i] > 0 ? 1 : -1;
      t_checked_ = t_hi;
      return false;
    }
    double lo = t_checked_, hi = t_hi;
    std::vector<double> y(n_);
    for (int it = 0; it < 200 && hi - lo > 4.0 * kEps * std::max(1.0, std::abs(hi)); ++it) {
      const double mid = lo + 0.5 * (hi - lo);
      if (!(mid > lo && mid < hi)) break;
      state_at(mid, y.data());
      system_.roots(mid, y.data(), g_lo_.data());
      bool cross = false;
      for (std::size_t i = 0; i < nr_; ++i) cross = cross || crossed(i, g_lo_[i]);
      if (cross) {
        hi = mid;
        std::copy(y.begin(), y.end(), root_x_.begin());
        std::copy(g_lo_.begin(), g_lo_.end(), g_.begin());
      } else {
        lo = mid;
      }
    }
    root_time_ = hi;
    for (std::size_t i = 0; i < nr_; ++i)
      roots_found_[i] = crossed(i, g_[i]) ? (sign_[i] < 0 ? 1 : -1) : 0;
    for (std::size_t i = 0; i < nr_; ++i)
      if (g_[i] != 0.0) sign_[i] = g_[i] > 0 ? 1 : -1;
    t_checked_ = hi;
    return true;
  }

  bool at_root(double* y_out) {
    std::copy(root_x_.begin(), root_x_.end(), y_out);
    return true;
  }

  State x_, tmp_;
  double t_ = 0.0;
  bool started_ = false;
  bool at_stop_ = false;  // the last step ended at tstop (restart needed to go on)
  // Root finding (events): values, last non-zero signs, searched up to t_checked_.
  std::size_t nr_;
  std::vector<double> g_, g_lo_;
  std::vector<int> sign_;
  std::vector<double> root_x_;
  double t_checked_ = 0.0;
};

// ---- dopri5 ----------------------------------------------------------------------------------

using VecState = std::vector<double>;
using Dopri = odeint::runge_kutta_dopri5<VecState>;

// The default error checker, counting the trial steps it rejects (error > 1) so that
// err_test_fails is exact. A NaN error (non-finite trial values) counts as a rejection too.
struct CountingChecker : odeint::default_error_checker<double, odeint::range_algebra,
                                                        odeint::default_operations> {
  using Base =
      odeint::default_error_checker<double, odeint::range_algebra, odeint::default_operations>;
  CountingChecker() = default;
  CountingChecker(double atol, double rtol, long* rejected)
      : Base(atol, rtol), rejected_(rejected) {}
  template <class State, class Deriv, class Err, class Time>
  double error(odeint::range_algebra& algebra, const State& x_old, const Deriv& dxdt_old,
               Err& x_err, Time dt) const {
    double e = Base::error(algebra, x_old, dxdt_old, x_err, dt);
    if (std::isnan(e)) e = 1e10;  // reject and shrink the step
    if (e > 1.0 && rejected_) ++*rejected_;
    return e;
  }
  long* rejected_ = nullptr;
};

using DopriControlled =
    odeint::controlled_runge_kutta<Dopri, CountingChecker, odeint::default_step_adjuster<double, double>,
                                   odeint::initially_resizer, odeint::explicit_error_stepper_fsal_tag>;
using DopriDense =
    odeint::dense_output_runge_kutta<DopriControlled, odeint::explicit_controlled_stepper_fsal_tag>;

class Dopri5Integrator final : public OdeintIntegrator<DopriDense, VecState> {
 public:
  Dopri5Integrator(OdeSystem& system, const SolverOptions& options)
      : OdeintIntegrator(system, options, make_dense(options, &rejected_)) {}

 private:
  static DopriDense make_dense(const SolverOptions& o, long* rejected) {
    return DopriDense(DopriControlled(CountingChecker(o.atol, o.rtol, rejected),
                                      odeint::default_step_adjuster<double, double>(o.max_step)));
  }

  struct Rhs {
    Dopri5Integrator* self;
    void operator()(const VecState& x, VecState& dxdt, double t) const {
      ++self->rhs_evals_;
      self->system_.rhs(t, x.data(), dxdt.data());
      self->note_rhs(&dxdt[0], t);
    }
  };

  std::pair<double, double> do_step() override { return dense_->do_step(Rhs{this}); }

  void finish_stats() override {
    stats_.rhs_evals = rhs_evals_;
    stats_.err_test_fails = rejected_;
  }

  long rhs_evals_ = 0;
  long rejected_ = 0;
};

// ---- rosenbrock4 -----------------------------------------------------------------------------

using UState = ublas::vector<double>;
using UMatrix = ublas::matrix<double>;
// Shampine's ROS4 coefficients as in Hairer's ros4.f (method 1), the set Boost's rosenbrock4
// uses, except d4: Boost 1.74 has d4 = +0.0362 where ros4.f has D4 = -0.0362. With the wrong
// sign the df/dt term of stage 4 is wrong, so any explicitly time-dependent system (our decaying
// medium inputs) loses the method's order: y' = -y/2 + sin t at rtol 1e-10 erred by 4e-6 and took
// 72000 steps; with the sign fixed 2e-12 and 1100 steps (tests/cpp/test_integrators.cpp).
struct RosenbrockCoefficients {
  typedef double value_type;
  typedef unsigned short order_type;

    RosenbrockCoefficients()
    : gamma ( value_type( 0.25 ) ) ,
      d1 ( value_type( 0.25 ) ) ,
      d2 ( value_type( -0.1043 ) ) ,
      d3 ( value_type( 0.1035 ) ) ,
      d4 ( value_type( -0.3620000000000023e-01 ) ) ,  // sign fixed (Boost: +)
      c2 ( value_type( 0.386 ) ) ,
      c3 ( value_type( 0.21 ) ) ,
      c4 ( value_type( 0.63 ) ) ,
      c21 ( value_type( -0.5668800000000000e+01 ) ) ,
      a21 ( value_type( 0.1544000000000000e+01 ) ) ,
      c31 ( value_type( -0.2430093356833875e+01 ) ) ,
      c32 ( value_type( -0.2063599157091915e+00 ) ) ,
      a31 ( value_type( 0.9466785280815826e+00 ) ) ,
      a32 ( value_type( 0.2557011698983284e+00 ) ) ,
      c41 ( value_type( -0.1073529058151375e+00 ) ) ,
      c42 ( value_type( -0.9594562251023355e+01 ) ) ,
      c43 ( value_type( -0.2047028614809616e+02 ) ) ,
      a41 ( value_type( 0.3314825187068521e+01 ) ) ,
      a42 ( value_type( 0.2896124015972201e+01 ) ) ,
      a43 ( value_type( 0.9986419139977817e+00 ) ) ,
      c51 ( value_type( 0.7496443313967647e+01 ) ) ,
      c52 ( value_type( -0.1024680431464352e+02 ) ) ,
      c53 ( value_type( -0.3399990352819905e+02 ) ) ,
      c54 ( value_type(  0.1170890893206160e+02 ) ) ,
      a51 ( value_type( 0.1221224509226641e+01 ) ) ,
      a52 ( value_type( 0.6019134481288629e+01 ) ) ,
      a53 ( value_type( 0.1253708332932087e+02 ) ) ,
      a54 ( value_type( -0.6878860361058950e+00 ) ) ,
      c61 ( value_type( 0.8083246795921522e+01 ) ) ,
      c62 ( value_type( -0.7981132988064893e+01 ) ) ,
      c63 ( value_type( -0.3152159432874371e+02 ) ) ,
      c64 ( value_type( 0.1631930543123136e+02 ) ) ,
      c65 ( value_type( -0.6058818238834054e+01 ) ) ,
      d21 ( value_type( 0.1012623508344586e+02 ) ) ,
      d22 ( value_type( -0.7487995877610167e+01 ) ) ,
      d23 ( value_type( -0.3480091861555747e+02 ) ) ,
      d24 ( value_type( -0.7992771707568823e+01 ) ) ,
      d25 ( value_type( 0.1025137723295662e+01 ) ) ,
      d31 ( value_type( -0.6762803392801253e+00 ) ) ,
      d32 ( value_type( 0.6087714651680015e+01 ) ) ,
      d33 ( value_type( 0.1643084320892478e+02 ) ) ,
      d34 ( value_type( 0.2476722511418386e+02 ) ) ,
      d35 ( value_type( -0.6594389125716872e+01 ) )
    {}

    const value_type gamma;
    const value_type d1 , d2 , d3 , d4;
    const value_type c2 , c3 , c4;
    const value_type c21 ;
    const value_type a21;
    const value_type c31 , c32;
    const value_type a31 , a32;
    const value_type c41 , c42 , c43;
    const value_type a41 , a42 , a43;
    const value_type c51 , c52 , c53 , c54;
    const value_type a51 , a52 , a53 , a54;
    const value_type c61 , c62 , c63 , c64 , c65;
    const value_type d21 , d22 , d23 , d24 , d25;
    const value_type d31 , d32 , d33 , d34 , d35;

    static const order_type stepper_order = 4;
    static const order_type error_order = 3;
};

using Rosen = odeint::rosenbrock4<double, RosenbrockCoefficients>;
using RosenControlled = odeint::rosenbrock4_controller<Rosen>;
using RosenDense = odeint::rosenbrock4_dense_output<RosenControlled>;

class Rosenbrock4Integrator final : public OdeintIntegrator<RosenDense, UState> {
 public:
  Rosenbrock4Integrator(OdeSystem& system, const SolverOptions& options)
      : OdeintIntegrator(system, options,
                         RosenDense(RosenControlled(options.atol, options.rtol, options.max_step))),
        jac_(system.size() * system.size()) {}

 private:
  struct Rhs {
    Rosenbrock4Integrator* self;
    void operator()(const UState& x, UState& dxdt, double t) const {
      ++self->rhs_evals_;
      self->system_.rhs(t, &x[0], &dxdt[0]);
      self->note_rhs(&dxdt[0], t);
    }
  };
  struct Jac {
    Rosenbrock4Integrator* self;
    void operator()(const UState& x, UMatrix& J, double t, UState& dfdt) const {
      ++self->jac_evals_;
      const std::size_t n = self->n_;
      self->system_.jacobian(t, &x[0], self->jac_.data());
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) J(i, j) = self->jac_[j * n + i];
      self->system_.dfdt(t, &x[0], &dfdt[0]);
    }
  };

  std::pair<double, double> do_step() override {
    return dense_->do_step(std::make_pair(Rhs{this}, Jac{this}));
  }

  // rosenbrock4 evaluates the Jacobian (and factorises I - γhJ) exactly once per trial step,
  // so trial steps = Jacobian evaluations and rejected steps = trials - accepted steps.
  void finish_stats() override {
    stats_.rhs_evals = rhs_evals_;
    stats_.jac_evals = jac_evals_;
    stats_.lin_setups = jac_evals_;
    stats_.err_test_fails = jac_evals_ - stats_.steps;
  }

  std::vector<double> jac_;
  long rhs_evals_ = 0;
  long jac_evals_ = 0;
};

}  // namespace

std::unique_ptr<Integrator> make_odeint_integrator(OdeSystem& system,
                                                   const SolverOptions& options) {
  if (system.size() == 0) throw OptionError("cannot integrate a system with no states");
  if (options.method == Method::dopri5) return std::make_unique<Dopri5Integrator>(system, options);
  if (options.method == Method::rosenbrock4)
    return std::make_unique<Rosenbrock4Integrator>(system, options);
  throw OptionError("make_odeint_integrator: the method is not dopri5 or rosenbrock4");
}

}  // namespace osteogrn::detail
