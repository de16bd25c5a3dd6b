// Optimised SUNDIALS kernels (see sundials_kernels.hpp for why). Each function repeats the
// arithmetic of its stock counterpart in nvector_serial.c / sunmatrix_dense.c / sundials_dense.c
// (SUNDIALS 6.4.1) operation for operation, including the special cases of N_VLinearSum and
// N_VScale, so that results are bit-identical; only the compiled code differs. Operations
// CVODES does not use on our path (masks, constraints, fused and array ops) keep their stock
// implementations or SUNDIALS' generic fallbacks, which call the ones below.
#include "solver/sundials_kernels.hpp"

#include <nvector/nvector_serial.h>
#include <sunlinsol/sunlinsol_dense.h>
#include <sunmatrix/sunmatrix_dense.h>

#include <cmath>
#include <cstring>

#include <sundials/sundials_version.h>

namespace osteogrn::detail {

#if OSTEOGRN_FAST_SUNDIALS_KERNELS

namespace {

using Index = sunindextype;

inline double* data(N_Vector v) { return NV_DATA_S(v); }
inline Index length(N_Vector v) { return NV_LENGTH_S(v); }

// ---- serial vector ----------------------------------------------------------------------------

void axpy(double a, N_Vector x, N_Vector y) {  // y += a x
  const double* xd = data(x);
  double* yd = data(y);
  const Index n = length(x);
  if (a == 1.0) {
    for (Index i = 0; i < n; ++i) yd[i] += xd[i];
  } else if (a == -1.0) {
    for (Index i = 0; i < n; ++i) yd[i] -= xd[i];
  } else {
    for (Index i = 0; i < n; ++i) yd[i] += a * xd[i];
  }
}

void linear_sum(double a, N_Vector x, double b, N_Vector y, N_Vector z) {
  if (b == 1.0 && z == y) return axpy(a, x, y);
  if (a == 1.0 && z == x) return axpy(b, y, x);
  const double* xd = data(x);
  const double* yd = data(y);
  double* zd = data(z);
  const Index n = length(x);
  if (a == 1.0 && b == 1.0) {
    for (Index i = 0; i < n; ++i) zd[i] = xd[i] + yd[i];
    return;
  }
  if ((a == 1.0 && b == -1.0) || (a == -1.0 && b == 1.0)) {
    const double* v1 = a == 1.0 ? yd : xd;  // z = v2 - v1
    const double* v2 = a == 1.0 ? xd : yd;
    for (Index i = 0; i < n; ++i) zd[i] = v2[i] - v1[i];
    return;
  }
  if (a == 1.0 || b == 1.0) {  // z = c v1 + v2
    const bool ta = a == 1.0;
    const double c = ta ? b : a;
    const double* v1 = ta ? yd : xd;
    const double* v2 = ta ? xd : yd;
    for (Index i = 0; i < n; ++i) zd[i] = (c * v1[i]) + v2[i];
    return;
  }
  if (a == -1.0 || b == -1.0) {  // z = c v1 - v2
    const bool ta = a == -1.0;
    const double c = ta ? b : a;
    const double* v1 = ta ? yd : xd;
    const double* v2 = ta ? xd : yd;
    for (Index i = 0; i < n; ++i) zd[i] = (c * v1[i]) - v2[i];
    return;
  }
  if (a == b) {
    for (Index i = 0; i < n; ++i) zd[i] = a * (xd[i] + yd[i]);
    return;
  }
  if (a == -b) {
    for (Index i = 0; i < n; ++i) zd[i] = a * (xd[i] - yd[i]);
    return;
  }
  for (Index i = 0; i < n; ++i) zd[i] = (a * xd[i]) + (b * yd[i]);
}

void constant(double c, N_Vector z) {
  double* zd = data(z);
  const Index n = length(z);
  for (Index i = 0; i < n; ++i) zd[i] = c;
}

void prod(N_Vector x, N_Vector y, N_Vector z) {
  const double* xd = data(x);
  const double* yd = data(y);
  double* zd = data(z);
  const Index n = length(x);
  for (Index i = 0; i < n; ++i) zd[i] = xd[i] * yd[i];
}

void div(N_Vector x, N_Vector y, N_Vector z) {
  const double* xd = data(x);
  const double* yd = data(y);
  double* zd = data(z);
  const Index n = length(x);
  for (Index i = 0; i < n; ++i) zd[i] = xd[i] / yd[i];
}

void scale(double c, N_Vector x, N_Vector z) {
  const double* xd = data(x);
  double* zd = data(z);
  const Index n = length(x);
  if (z == x) {
    for (Index i = 0; i < n; ++i) zd[i] *= c;
  } else if (c == 1.0) {
    for (Index i = 0; i < n; ++i) zd[i] = xd[i];
  } else if (c == -1.0) {
    for (Index i = 0; i < n; ++i) zd[i] = -xd[i];
  } else {
    for (Index i = 0; i < n; ++i) zd[i] = c * xd[i];
  }
}

void abs_value(N_Vector x, N_Vector z) {
  const double* xd = data(x);
  double* zd = data(z);
  const Index n = length(x);
  for (Index i = 0; i < n; ++i) zd[i] = std::fabs(xd[i]);
}

void inv(N_Vector x, N_Vector z) {
  const double* xd = data(x);
  double* zd = data(z);
  const Index n = length(x);
  for (Index i = 0; i < n; ++i) zd[i] = 1.0 / xd[i];
}

void add_const(N_Vector x, double b, N_Vector z) {
  const double* xd = data(x);
  double* zd = data(z);
  const Index n = length(x);
  for (Index i = 0; i < n; ++i) zd[i] = xd[i] + b;
}

// Reductions keep the stock left-to-right order (no reassociation) so sums are bit-identical.
double dot_prod(N_Vector x, N_Vector y) {
  const double* xd = data(x);
  const double* yd = data(y);
  const Index n = length(x);
  double sum = 0.0;
  for (Index i = 0; i < n; ++i) sum += xd[i] * yd[i];
  return sum;
}

double max_norm(N_Vector x) {
  const double* xd = data(x);
  const Index n = length(x);
  double max = 0.0;
  for (Index i = 0; i < n; ++i)
    if (std::fabs(xd[i]) > max) max = std::fabs(xd[i]);
  return max;
}

double wsqr_sum(N_Vector x, N_Vector w) {
  const double* xd = data(x);
  const double* wd = data(w);
  const Index n = length(x);
  double sum = 0.0;
  for (Index i = 0; i < n; ++i) {
    const double p = xd[i] * wd[i];
    sum += p * p;
  }
  return sum;
}

double wrms_norm(N_Vector x, N_Vector w) {
  return std::sqrt(wsqr_sum(x, w) / static_cast<double>(length(x)));
}

double min_value(N_Vector x) {
  const double* xd = data(x);
  const Index n = length(x);
  double min = xd[0];
  for (Index i = 1; i < n; ++i)
    if (xd[i] < min) min = xd[i];
  return min;
}

void compare(double c, N_Vector x, N_Vector z) {
  const double* xd = data(x);
  double* zd = data(z);
  const Index n = length(x);
  for (Index i = 0; i < n; ++i) zd[i] = std::fabs(xd[i]) >= c ? 1.0 : 0.0;
}

// ---- dense matrix (column-major, leading dimension = rows) ----------------------------------

int dense_zero(SUNMatrix A) {
  std::memset(SM_DATA_D(A), 0, static_cast<std::size_t>(SM_LDATA_D(A)) * sizeof(double));
  return SUNMAT_SUCCESS;
}

int dense_copy(SUNMatrix A, SUNMatrix B) {
  if (SUNMatGetID(B) != SUNMATRIX_DENSE || SM_ROWS_D(A) != SM_ROWS_D(B) ||
      SM_COLUMNS_D(A) != SM_COLUMNS_D(B))
    return SUNMAT_ILL_INPUT;
  std::memcpy(SM_DATA_D(B), SM_DATA_D(A), static_cast<std::size_t>(SM_LDATA_D(A)) * sizeof(double));
  return SUNMAT_SUCCESS;
}

int dense_scale_add_identity(double c, SUNMatrix A) {  // A = c A + I
  double* a = SM_DATA_D(A);
  const Index m = SM_ROWS_D(A);
  const Index n = SM_COLUMNS_D(A);
  for (Index j = 0; j < n; ++j) {
    double* col = a + j * m;
    for (Index i = 0; i < m; ++i) col[i] *= c;
    if (j < m) col[j] += 1.0;
  }
  return SUNMAT_SUCCESS;
}

SUNMatrix dense_clone(SUNMatrix A) {
  SUNMatrix B = SUNMatClone_Dense(A);
  if (B) use_fast_dense_ops(B);
  return B;
}

// ---- dense LU with partial pivoting (SUNDlsMat_denseGETRF / denseGETRS) ----------------------

// Factors the m×n column-major a in place: L (unit, below the diagonal, multipliers) and U;
// p[k] = row swapped with row k. Returns 0, or k+1 if the k-th pivot is zero.
Index getrf(double* a, Index m, Index n, Index* p) {
  for (Index k = 0; k < n; ++k) {
    double* col_k = a + k * m;
    Index l = k;
    for (Index i = k + 1; i < m; ++i)
      if (std::fabs(col_k[i]) > std::fabs(col_k[l])) l = i;
    p[k] = l;
    if (col_k[l] == 0.0) return k + 1;
    if (l != k) {
      for (Index j = 0; j < n; ++j) {
        double* col = a + j * m;
        const double t = col[l];
        col[l] = col[k];
        col[k] = t;
      }
    }
    const double mult = 1.0 / col_k[k];
    for (Index i = k + 1; i < m; ++i) col_k[i] *= mult;
    for (Index j = k + 1; j < n; ++j) {
      double* col_j = a + j * m;
      const double a_kj = col_j[k];
      if (a_kj != 0.0)
        for (Index i = k + 1; i < m; ++i) col_j[i] -= a_kj * col_k[i];
    }
  }
  return 0;
}

// a (the factors) and b never overlap: __restrict lets the column loops vectorise without
// run-time overlap checks. (A row-oriented sweep, also bit-identical, was no faster: the solve
// is bound by the latency of the chain of divisions by U's diagonal.)
void getrs(const double* __restrict a, Index n, const Index* __restrict p, double* __restrict b) {
  for (Index k = 0; k < n; ++k) {
    const Index pk = p[k];
    if (pk != k) {
      const double t = b[k];
      b[k] = b[pk];
      b[pk] = t;
    }
  }
  for (Index k = 0; k < n - 1; ++k) {  // L y = b
    const double* __restrict col_k = a + k * n;
    const double bk = b[k];
    for (Index i = k + 1; i < n; ++i) b[i] -= col_k[i] * bk;
  }
  for (Index k = n - 1; k > 0; --k) {  // U x = y
    const double* __restrict col_k = a + k * n;
    const double bk = b[k] / col_k[k];
    b[k] = bk;
    for (Index i = 0; i < k; ++i) b[i] -= col_k[i] * bk;
  }
  b[0] /= a[0];
}

SUNLinearSolverContent_Dense content(SUNLinearSolver S) {
  return static_cast<SUNLinearSolverContent_Dense>(S->content);
}

int dense_setup(SUNLinearSolver S, SUNMatrix A) {
  if (A == nullptr) return SUNLS_MEM_NULL;
  if (SUNMatGetID(A) != SUNMATRIX_DENSE) {
    content(S)->last_flag = SUNLS_ILL_INPUT;
    return SUNLS_ILL_INPUT;
  }
  if (SM_DATA_D(A) == nullptr || content(S)->pivots == nullptr) {
    content(S)->last_flag = SUNLS_MEM_FAIL;
    return SUNLS_MEM_FAIL;
  }
  content(S)->last_flag = getrf(SM_DATA_D(A), SM_ROWS_D(A), SM_COLUMNS_D(A), content(S)->pivots);
  return content(S)->last_flag > 0 ? SUNLS_LUFACT_FAIL : SUNLS_SUCCESS;
}

int dense_solve(SUNLinearSolver S, SUNMatrix A, N_Vector x, N_Vector b, double /*tol*/) {
  if (A == nullptr || x == nullptr || b == nullptr) return SUNLS_MEM_NULL;
  N_VScale(1.0, b, x);
  double* xd = N_VGetArrayPointer(x);
  if (SM_DATA_D(A) == nullptr || xd == nullptr || content(S)->pivots == nullptr) {
    content(S)->last_flag = SUNLS_MEM_FAIL;
    return SUNLS_MEM_FAIL;
  }
  getrs(SM_DATA_D(A), content(S)->N, content(S)->pivots, xd);
  content(S)->last_flag = SUNLS_SUCCESS;
  return SUNLS_SUCCESS;
}

}  // namespace

// The headers we compiled against say 6.4; the shared library loaded at run time must agree
// (a libsundials upgrade without a rebuild would otherwise get 6.4's struct layout assumed).
bool runtime_is_6_4() {
  static const bool ok = [] {
    int major = 0, minor = 0, patch = 0;
    char label[32] = {};
    return SUNDIALSGetVersionNumber(&major, &minor, &patch, label, sizeof label) == 0 &&
           major == 6 && minor == 4;
  }();
  return ok;
}

void use_fast_vector_ops(N_Vector v) {
  if (!runtime_is_6_4()) return;
  N_Vector_Ops ops = v->ops;
  ops->nvlinearsum = linear_sum;
  ops->nvconst = constant;
  ops->nvprod = prod;
  ops->nvdiv = div;
  ops->nvscale = scale;
  ops->nvabs = abs_value;
  ops->nvinv = inv;
  ops->nvaddconst = add_const;
  ops->nvdotprod = dot_prod;
  ops->nvmaxnorm = max_norm;
  ops->nvwrmsnorm = wrms_norm;
  ops->nvmin = min_value;
  ops->nvcompare = compare;
  ops->nvdotprodlocal = dot_prod;
  ops->nvmaxnormlocal = max_norm;
  ops->nvminlocal = min_value;
  ops->nvwsqrsumlocal = wsqr_sum;
}

void use_fast_dense_ops(SUNMatrix A) {
  if (!runtime_is_6_4()) return;
  A->ops->zero = dense_zero;
  A->ops->copy = dense_copy;
  A->ops->scaleaddi = dense_scale_add_identity;
  A->ops->clone = dense_clone;
}

void use_fast_dense_solver(SUNLinearSolver ls) {
  if (!runtime_is_6_4()) return;
  ls->ops->setup = dense_setup;
  ls->ops->solve = dense_solve;
}

#else  // another SUNDIALS release: keep its stock kernels (see sundials_kernels.hpp)

void use_fast_vector_ops(N_Vector) {}
void use_fast_dense_ops(SUNMatrix) {}
void use_fast_dense_solver(SUNLinearSolver) {}
bool runtime_is_6_4() { return false; }

#endif  // OSTEOGRN_FAST_SUNDIALS_KERNELS

}  // namespace osteogrn::detail
