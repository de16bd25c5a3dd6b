// The optimised SUNDIALS kernels (core/src/sundials_kernels.cpp) against the stock ones: every
// replaced operation bit for bit on random data (with the scalar special cases and aliasings
// the stock code branches on), and whole CVODES runs — with and without forward
// sensitivities — that must produce identical trajectories and identical counters.
#include <cvodes/cvodes.h>
#include <gtest/gtest.h>
#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>
#include <sunlinsol/sunlinsol_dense.h>
#include <sunmatrix/sunmatrix_dense.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <sundials/sundials_version.h>

#include "solver/sundials_kernels.hpp"

namespace {

using osteogrn::detail::kFastSundialsKernels;
using osteogrn::detail::runtime_is_6_4;
using osteogrn::detail::use_fast_dense_ops;
using osteogrn::detail::use_fast_dense_solver;
using osteogrn::detail::use_fast_vector_ops;

class Ctx {
 public:
  Ctx() { SUNContext_Create(nullptr, &ctx_); }
  ~Ctx() { SUNContext_Free(&ctx_); }
  operator SUNContext() const { return ctx_; }

 private:
  SUNContext ctx_ = nullptr;
};

bool same_bits(const double* a, const double* b, std::size_t n) {
  // memcmp's arguments must not be null even for n == 0 (UBSan): an empty vector's data() may be.
  return n == 0 || std::memcmp(a, b, n * sizeof(double)) == 0;
}
bool same_bits(double a, double b) { return same_bits(&a, &b, 1); }

// Two sets of vectors with identical contents: `stock` with SUNDIALS' kernels, `fast` with ours.
struct VectorPair {
  static constexpr int kCount = 3;
  N_Vector stock[kCount];
  N_Vector fast[kCount];
  sunindextype n;

  VectorPair(sunindextype size, SUNContext ctx, std::mt19937& rng) : n(size) {
    std::uniform_real_distribution<double> u(-2.0, 2.0);
    N_Vector fast_template = N_VNew_Serial(n, ctx);
    use_fast_vector_ops(fast_template);
    for (int k = 0; k < kCount; ++k) {
      stock[k] = N_VNew_Serial(n, ctx);
      fast[k] = N_VClone(fast_template);  // clones must inherit the fast kernels
      for (sunindextype i = 0; i < n; ++i) {
        // some exact zeros and +-1 (branches of compare/inv), otherwise random
        double v = u(rng);
        if (i % 7 == 3) v = 0.0;
        if (i % 11 == 5) v = (k % 2) ? 1.0 : -1.0;
        NV_Ith_S(stock[k], i) = NV_Ith_S(fast[k], i) = v;
      }
    }
    N_VDestroy(fast_template);
  }
  ~VectorPair() {
    for (int k = 0; k < kCount; ++k) {
      N_VDestroy(stock[k]);
      N_VDestroy(fast[k]);
    }
  }
  bool equal() const {
    for (int k = 0; k < kCount; ++k)
      if (!same_bits(NV_DATA_S(stock[k]), NV_DATA_S(fast[k]), static_cast<std::size_t>(n)))
        return false;
    return true;
  }
};

// The replacements are tied to SUNDIALS 6.4.x at compile time (headers) and at run time (the
// loaded library); Debian 12 ships 6.4.1, so here both must hold and the kernels be active.
TEST(SundialsKernels, VersionGuardEnablesKernelsOn64Only) {
  EXPECT_EQ(kFastSundialsKernels, SUNDIALS_VERSION_MAJOR == 6 && SUNDIALS_VERSION_MINOR == 4);
  int major = 0, minor = 0, patch = 0;
  char label[32] = {};
  ASSERT_EQ(SUNDIALSGetVersionNumber(&major, &minor, &patch, label, sizeof label), 0);
  EXPECT_EQ(runtime_is_6_4(), kFastSundialsKernels && major == 6 && minor == 4);
  EXPECT_TRUE(kFastSundialsKernels && runtime_is_6_4())
      << "built against SUNDIALS " << SUNDIALS_VERSION << ", running " << major << "." << minor
      << "." << patch << ": the optimised kernels are off (stock kernels run, slower)";
}

TEST(SundialsKernels, VectorOpsAreInstalledAndInherited) {
  Ctx ctx;
  N_Vector v = N_VNew_Serial(4, ctx);
  N_Vector stock = N_VNew_Serial(4, ctx);
  use_fast_vector_ops(v);
  N_Vector c = N_VClone(v);
  EXPECT_NE(v->ops->nvlinearsum, stock->ops->nvlinearsum);
  EXPECT_EQ(c->ops->nvlinearsum, v->ops->nvlinearsum);
  EXPECT_EQ(c->ops->nvwrmsnorm, v->ops->nvwrmsnorm);
  N_VDestroy(c);
  N_VDestroy(v);
  N_VDestroy(stock);
}

TEST(SundialsKernels, VectorOpsBitIdenticalToStock) {
  Ctx ctx;
  std::mt19937 rng(20261123);
  std::uniform_real_distribution<double> u(-3.0, 3.0);
  const std::vector<double> scalars = {1.0, -1.0, 0.0, 0.5, -0.25, u(rng), u(rng)};
  for (sunindextype n : {1, 2, 3, 7, 19, 64, 257}) {
    SCOPED_TRACE("n = " + std::to_string(n));
    // Elementwise ops: run each on both sets, with each output aliasing pattern.
    using Op = std::function<void(N_Vector*)>;
    std::vector<std::pair<std::string, Op>> ops;
    for (double a : scalars)
      for (double b : scalars) {
        const std::string ab = "(" + std::to_string(a) + ", " + std::to_string(b) + ")";
        ops.push_back({"LinearSum z!=x,y " + ab, [a, b](N_Vector* v) { N_VLinearSum(a, v[0], b, v[1], v[2]); }});
        ops.push_back({"LinearSum z=x " + ab, [a, b](N_Vector* v) { N_VLinearSum(a, v[0], b, v[1], v[0]); }});
        ops.push_back({"LinearSum z=y " + ab, [a, b](N_Vector* v) { N_VLinearSum(a, v[0], b, v[1], v[1]); }});
        ops.push_back({"LinearSum x=y " + ab, [a, b](N_Vector* v) { N_VLinearSum(a, v[0], b, v[0], v[2]); }});
      }
    for (double c : scalars) {
      const std::string cs = std::to_string(c);
      ops.push_back({"Scale " + cs, [c](N_Vector* v) { N_VScale(c, v[0], v[1]); }});
      ops.push_back({"Scale in place " + cs, [c](N_Vector* v) { N_VScale(c, v[0], v[0]); }});
      ops.push_back({"Const " + cs, [c](N_Vector* v) { N_VConst(c, v[2]); }});
      ops.push_back({"AddConst " + cs, [c](N_Vector* v) { N_VAddConst(v[0], c, v[2]); }});
      ops.push_back({"Compare " + cs, [c](N_Vector* v) { N_VCompare(std::fabs(c), v[0], v[2]); }});
    }
    ops.push_back({"Prod", [](N_Vector* v) { N_VProd(v[0], v[1], v[2]); }});
    ops.push_back({"Div", [](N_Vector* v) { N_VDiv(v[0], v[1], v[2]); }});
    ops.push_back({"Abs", [](N_Vector* v) { N_VAbs(v[0], v[2]); }});
    ops.push_back({"Inv", [](N_Vector* v) { N_VInv(v[0], v[2]); }});
    for (const auto& [name, op] : ops) {
      VectorPair p(n, ctx, rng);
      op(p.stock);
      op(p.fast);
      EXPECT_TRUE(p.equal()) << name;
    }
    // Reductions, including SUNDIALS' generic fused/array fallbacks built on them.
    VectorPair p(n, ctx, rng);
    N_VAbs(p.stock[2], p.stock[2]);  // a positive weight vector
    N_VAbs(p.fast[2], p.fast[2]);
    EXPECT_TRUE(same_bits(N_VDotProd(p.stock[0], p.stock[1]), N_VDotProd(p.fast[0], p.fast[1])));
    EXPECT_TRUE(same_bits(N_VMaxNorm(p.stock[0]), N_VMaxNorm(p.fast[0])));
    EXPECT_TRUE(same_bits(N_VMin(p.stock[0]), N_VMin(p.fast[0])));
    EXPECT_TRUE(same_bits(N_VWrmsNorm(p.stock[0], p.stock[2]), N_VWrmsNorm(p.fast[0], p.fast[2])));
    EXPECT_TRUE(same_bits(N_VWSqrSumLocal(p.stock[0], p.stock[2]),
                          N_VWSqrSumLocal(p.fast[0], p.fast[2])));
    double cs[3] = {0.3, -1.0, 2.5};
    N_VLinearCombination(3, cs, p.stock, p.stock[0]);
    N_VLinearCombination(3, cs, p.fast, p.fast[0]);
    EXPECT_TRUE(p.equal()) << "LinearCombination";
  }
}

// n×n matrices with identical random contents, one with stock and one with fast kernels.
struct MatrixPair {
  SUNMatrix stock, fast;
  MatrixPair(sunindextype n, SUNContext ctx, std::mt19937& rng, double zero_fraction = 0.3) {
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    stock = SUNDenseMatrix(n, n, ctx);
    fast = SUNDenseMatrix(n, n, ctx);
    use_fast_dense_ops(fast);
    for (sunindextype k = 0; k < n * n; ++k) {
      double v = u(rng);
      if (std::fabs(v) < zero_fraction) v = 0.0;  // sparse-ish, like GRN Jacobians
      SM_DATA_D(stock)[k] = SM_DATA_D(fast)[k] = v;
    }
  }
  ~MatrixPair() {
    SUNMatDestroy(stock);
    SUNMatDestroy(fast);
  }
  bool equal() const {
    return same_bits(SM_DATA_D(stock), SM_DATA_D(fast), static_cast<std::size_t>(SM_LDATA_D(stock)));
  }
};

TEST(SundialsKernels, DenseMatrixOpsBitIdenticalToStock) {
  Ctx ctx;
  std::mt19937 rng(7);
  for (sunindextype n : {1, 3, 19, 40}) {
    SCOPED_TRACE("n = " + std::to_string(n));
    MatrixPair m(n, ctx, rng);
    SUNMatrix stock_copy = SUNMatClone(m.stock);
    SUNMatrix fast_copy = SUNMatClone(m.fast);
    EXPECT_EQ(fast_copy->ops->copy, m.fast->ops->copy) << "clone keeps the fast kernels";
    EXPECT_EQ(SUNMatCopy(m.stock, stock_copy), SUNMAT_SUCCESS);
    EXPECT_EQ(SUNMatCopy(m.fast, fast_copy), SUNMAT_SUCCESS);
    EXPECT_TRUE(same_bits(SM_DATA_D(stock_copy), SM_DATA_D(fast_copy), n * n));
    EXPECT_EQ(SUNMatScaleAddI(-0.0123, m.stock), SUNMAT_SUCCESS);
    EXPECT_EQ(SUNMatScaleAddI(-0.0123, m.fast), SUNMAT_SUCCESS);
    EXPECT_TRUE(m.equal());
    EXPECT_EQ(SUNMatZero(m.stock), SUNMAT_SUCCESS);
    EXPECT_EQ(SUNMatZero(m.fast), SUNMAT_SUCCESS);
    EXPECT_TRUE(m.equal());
    SUNMatDestroy(stock_copy);
    SUNMatDestroy(fast_copy);
  }
  // A copy into a matrix of another shape is refused, as by the stock kernel.
  SUNMatrix a = SUNDenseMatrix(3, 3, ctx), b = SUNDenseMatrix(4, 4, ctx);
  use_fast_dense_ops(a);
  EXPECT_EQ(SUNMatCopy(a, b), SUNMAT_ILL_INPUT);
  SUNMatDestroy(a);
  SUNMatDestroy(b);
}

TEST(SundialsKernels, DenseLuBitIdenticalToStock) {
  Ctx ctx;
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (sunindextype n : {1, 2, 5, 19, 60}) {
    for (int trial = 0; trial < 5; ++trial) {
      SCOPED_TRACE("n = " + std::to_string(n) + ", trial " + std::to_string(trial));
      MatrixPair m(n, ctx, rng, trial == 0 ? 0.0 : 0.5);
      // I - γJ as CVODES forms it (pivoting still happens when γ is large).
      SUNMatScaleAddI(trial < 3 ? -0.1 : -50.0, m.stock);
      SUNMatScaleAddI(trial < 3 ? -0.1 : -50.0, m.fast);
      N_Vector ys = N_VNew_Serial(n, ctx), yf = N_VNew_Serial(n, ctx);
      use_fast_vector_ops(yf);
      SUNLinearSolver ls_stock = SUNLinSol_Dense(ys, m.stock, ctx);
      SUNLinearSolver ls_fast = SUNLinSol_Dense(yf, m.fast, ctx);
      use_fast_dense_solver(ls_fast);
      const int fs = SUNLinSolSetup(ls_stock, m.stock);
      const int ff = SUNLinSolSetup(ls_fast, m.fast);
      EXPECT_EQ(fs, ff);
      EXPECT_EQ(SUNLinSolLastFlag(ls_stock), SUNLinSolLastFlag(ls_fast));
      EXPECT_TRUE(m.equal()) << "LU factors";
      auto* ps = static_cast<SUNLinearSolverContent_Dense>(ls_stock->content)->pivots;
      auto* pf = static_cast<SUNLinearSolverContent_Dense>(ls_fast->content)->pivots;
      EXPECT_TRUE(std::equal(ps, ps + n, pf)) << "pivots";
      if (fs == SUNLS_SUCCESS) {
        N_Vector bs = N_VNew_Serial(n, ctx), bf = N_VNew_Serial(n, ctx);
        for (sunindextype i = 0; i < n; ++i) NV_Ith_S(bs, i) = NV_Ith_S(bf, i) = u(rng);
        EXPECT_EQ(SUNLinSolSolve(ls_stock, m.stock, ys, bs, 0.0), SUNLS_SUCCESS);
        EXPECT_EQ(SUNLinSolSolve(ls_fast, m.fast, yf, bf, 0.0), SUNLS_SUCCESS);
        EXPECT_TRUE(same_bits(NV_DATA_S(ys), NV_DATA_S(yf), n)) << "solution";
        N_VDestroy(bs);
        N_VDestroy(bf);
      }
      SUNLinSolFree(ls_stock);
      SUNLinSolFree(ls_fast);
      N_VDestroy(ys);
      N_VDestroy(yf);
    }
  }
}

TEST(SundialsKernels, SingularMatrixReportsTheSamePivotFailure) {
  Ctx ctx;
  for (bool fast : {false, true}) {
    SUNMatrix A = SUNDenseMatrix(3, 3, ctx);
    N_Vector y = N_VNew_Serial(3, ctx);
    // Column 1 is zero below row 0 after eliminating column 0: second pivot is zero.
    const double a[9] = {2, 4, 6, 1, 2, 3, 0, 1, 5};
    std::copy(a, a + 9, SM_DATA_D(A));
    SUNLinearSolver ls = SUNLinSol_Dense(y, A, ctx);
    if (fast) {
      use_fast_dense_ops(A);
      use_fast_dense_solver(ls);
    }
    EXPECT_EQ(SUNLinSolSetup(ls, A), SUNLS_LUFACT_FAIL) << (fast ? "fast" : "stock");
    EXPECT_EQ(SUNLinSolLastFlag(ls), 2) << (fast ? "fast" : "stock");
    SUNLinSolFree(ls);
    N_VDestroy(y);
    SUNMatDestroy(A);
  }
}

// ---- whole CVODES runs -----------------------------------------------------------------------

// A stiff 12-state cascade: Robertson kinetics driving a chain of Hill-activated genes, with
// parameters p (Robertson's three rate constants) for forward sensitivities.
constexpr int kN = 12;
struct Problem {
  double p[3] = {0.04, 1e4, 3e7};
};

int rhs(double, N_Vector yv, N_Vector fv, void* data) {
  const double* p = static_cast<Problem*>(data)->p;
  const double* y = NV_DATA_S(yv);
  double* f = NV_DATA_S(fv);
  f[0] = -p[0] * y[0] + p[1] * y[1] * y[2];
  f[2] = p[2] * y[1] * y[1];
  f[1] = -f[0] - f[2];
  for (int i = 3; i < kN; ++i) {
    const double x = y[i - 1] * y[i - 1];
    f[i] = (1.0 + i) * x / (0.01 + x) - (0.5 + 0.1 * i) * y[i];
  }
  return 0;
}

// ∂f/∂y into the column-major kN×kN array J (entries not written must already be 0).
void fill_jacobian(const double* y, const double* p, double* J) {
  auto e = [&](int r, int c) -> double& { return J[c * kN + r]; };
  e(0, 0) = -p[0];
  e(0, 1) = p[1] * y[2];
  e(0, 2) = p[1] * y[1];
  e(2, 1) = 2.0 * p[2] * y[1];
  e(1, 0) = p[0];
  e(1, 1) = -p[1] * y[2] - 2.0 * p[2] * y[1];
  e(1, 2) = -p[1] * y[1];
  for (int i = 3; i < kN; ++i) {
    const double x = y[i - 1] * y[i - 1];
    e(i, i - 1) = (1.0 + i) * 0.01 * 2.0 * y[i - 1] / ((0.01 + x) * (0.01 + x));
    e(i, i) = -(0.5 + 0.1 * i);
  }
}

int jac(double, N_Vector y, N_Vector, SUNMatrix J, void* data, N_Vector, N_Vector, N_Vector) {
  fill_jacobian(NV_DATA_S(y), static_cast<Problem*>(data)->p, SM_DATA_D(J));  // CVODES zeroed J
  return 0;
}

// All sensitivities at once: sdot_j = J s_j + ∂f/∂p_j.
int sens_rhs(int ns, double, N_Vector y, N_Vector, N_Vector* yS, N_Vector* ySdot, void* data,
             N_Vector, N_Vector) {
  double J[kN * kN] = {};
  fill_jacobian(NV_DATA_S(y), static_cast<Problem*>(data)->p, J);
  const double* yd = NV_DATA_S(y);
  const double dfdp[3][3] = {{-yd[0], yd[0], 0.0},  // ∂(f0, f1, f2)/∂p_j
                             {yd[1] * yd[2], -yd[1] * yd[2], 0.0},
                             {0.0, -yd[1] * yd[1], yd[1] * yd[1]}};
  for (int j = 0; j < ns; ++j) {
    const double* s = NV_DATA_S(yS[j]);
    double* out = NV_DATA_S(ySdot[j]);
    for (int r = 0; r < kN; ++r) {
      double acc = r < 3 ? dfdp[j][r] : 0.0;
      for (int c = 0; c < kN; ++c) acc += J[c * kN + r] * s[c];
      out[r] = acc;
    }
  }
  return 0;
}

struct CvodesRun {
  std::vector<double> y, s;
  long steps = 0, setups = 0, fails = 0;
};

CvodesRun run_cvodes(bool fast, bool sensitivities) {
  Ctx ctx;
  Problem prob;
  N_Vector y = N_VNew_Serial(kN, ctx);
  if (fast) use_fast_vector_ops(y);
  N_VConst(0.0, y);
  NV_Ith_S(y, 0) = 1.0;
  SUNMatrix A = SUNDenseMatrix(kN, kN, ctx);
  if (fast) use_fast_dense_ops(A);
  SUNLinearSolver ls = SUNLinSol_Dense(y, A, ctx);
  if (fast) use_fast_dense_solver(ls);
  void* mem = CVodeCreate(CV_BDF, ctx);
  CVodeInit(mem, rhs, 0.0, y);
  CVodeSStolerances(mem, 1e-8, 1e-12);
  CVodeSetMaxNumSteps(mem, 100000);
  CVodeSetUserData(mem, &prob);
  CVodeSetLinearSolver(mem, ls, A);
  CVodeSetJacFn(mem, jac);
  N_Vector* yS = nullptr;
  if (sensitivities) {
    yS = N_VCloneVectorArray(3, y);
    for (int j = 0; j < 3; ++j) N_VConst(0.0, yS[j]);
    CVodeSensInit(mem, 3, CV_STAGGERED, sens_rhs, yS);
    CVodeSetSensParams(mem, prob.p, prob.p, nullptr);
    CVodeSensEEtolerances(mem);
    CVodeSetSensErrCon(mem, SUNTRUE);
  }
  CvodesRun out;
  double t = 0.0;
  for (double tout = 0.4; tout <= 4e4; tout *= 10.0) {
    EXPECT_EQ(CVode(mem, tout, y, &t, CV_NORMAL), CV_SUCCESS);
    out.y.insert(out.y.end(), NV_DATA_S(y), NV_DATA_S(y) + kN);
    if (sensitivities) {
      CVodeGetSens(mem, &t, yS);
      for (int j = 0; j < 3; ++j) out.s.insert(out.s.end(), NV_DATA_S(yS[j]), NV_DATA_S(yS[j]) + kN);
    }
  }
  CVodeGetNumSteps(mem, &out.steps);
  CVodeGetNumLinSolvSetups(mem, &out.setups);
  CVodeGetNumErrTestFails(mem, &out.fails);
  if (yS) N_VDestroyVectorArray(yS, 3);
  CVodeFree(&mem);
  SUNLinSolFree(ls);
  SUNMatDestroy(A);
  N_VDestroy(y);
  return out;
}

TEST(SundialsKernels, WholeCvodesRunIsBitIdentical) {
  for (bool sens : {false, true}) {
    SCOPED_TRACE(sens ? "with sensitivities" : "states only");
    const CvodesRun stock = run_cvodes(false, sens);
    const CvodesRun fast = run_cvodes(true, sens);
    ASSERT_GT(stock.steps, 100);
    EXPECT_EQ(stock.steps, fast.steps);
    EXPECT_EQ(stock.setups, fast.setups);
    EXPECT_EQ(stock.fails, fast.fails);
    ASSERT_EQ(stock.y.size(), fast.y.size());
    EXPECT_TRUE(same_bits(stock.y.data(), fast.y.data(), stock.y.size()));
    ASSERT_EQ(stock.s.size(), fast.s.size());
    EXPECT_TRUE(same_bits(stock.s.data(), fast.s.data(), stock.s.size()));
  }
}

}  // namespace
