// linear_solver "gmres": the ILU(0) preconditioner of I - γJ (exact where the pattern takes no
// fill-in, J·v, refusals), and CVODES with preconditioned GMRES against dense LU on the composed
// osteogenic model and on a generated 300-gene GRN through media changes and clamp/knockout/
// parameter windows, with and without forward sensitivities; option errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "osteogrn/errors.hpp"
#include "solver/sparse_preconditioner.hpp"

using namespace osteogrn;
using osteogrn::detail::SparseIlu0;

namespace {

// Seeded generator (splitmix64), portable across standard libraries.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  double uniform(double lo, double hi) {
    s_ += 0x9E3779B97F4A7C15ull;
    std::uint64_t z = s_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return lo + (hi - lo) * static_cast<double>(z >> 11) * 0x1.0p-53;
  }

 private:
  std::uint64_t s_;
};

// A CSC pattern from a dense mask (column-major), diagonal always included.
struct Pattern {
  std::vector<std::int64_t> colptr{0}, rows;
};
Pattern pattern_of(std::size_t n, const std::vector<bool>& mask) {
  Pattern p;
  for (std::size_t c = 0; c < n; ++c) {
    for (std::size_t r = 0; r < n; ++r)
      if (r == c || mask[c * n + r]) p.rows.push_back(static_cast<std::int64_t>(r));
    p.colptr.push_back(static_cast<std::int64_t>(p.rows.size()));
  }
  return p;
}

// Dense column-major J with random values on the pattern (zero elsewhere), written into ilu.
std::vector<double> fill_random(const Pattern& p, std::size_t n, SparseIlu0& ilu, Rng& rng) {
  std::vector<double> dense(n * n, 0.0);
  double* v = ilu.jacobian_values();
  for (std::size_t c = 0; c < n; ++c) {
    for (auto k = p.colptr[c]; k < p.colptr[c + 1]; ++k) {
      const auto r = static_cast<std::size_t>(p.rows[static_cast<std::size_t>(k)]);
      // Degradation-like negative diagonal, couplings of either sign.
      const double x = r == c ? -rng.uniform(0.2, 20.0) : rng.uniform(-3.0, 3.0);
      v[k] = x;
      dense[c * n + r] = x;
    }
  }
  return dense;
}

// Solves (I - γJ) x = b by Gaussian elimination with partial pivoting (J dense column-major).
std::vector<double> dense_solve(std::vector<double> J, std::size_t n, double gamma,
                                std::vector<double> b) {
  std::vector<double> a(n * n);  // row-major I - γJ
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t c = 0; c < n; ++c) a[r * n + c] = (r == c ? 1.0 : 0.0) - gamma * J[c * n + r];
  for (std::size_t k = 0; k < n; ++k) {
    std::size_t piv = k;
    for (std::size_t r = k + 1; r < n; ++r)
      if (std::abs(a[r * n + k]) > std::abs(a[piv * n + k])) piv = r;
    for (std::size_t c = 0; c < n; ++c) std::swap(a[k * n + c], a[piv * n + c]);
    std::swap(b[k], b[piv]);
    for (std::size_t r = k + 1; r < n; ++r) {
      const double l = a[r * n + k] / a[k * n + k];
      for (std::size_t c = k; c < n; ++c) a[r * n + c] -= l * a[k * n + c];
      b[r] -= l * b[k];
    }
  }
  for (std::size_t k = n; k-- > 0;) {
    for (std::size_t c = k + 1; c < n; ++c) b[k] -= a[k * n + c] * b[c];
    b[k] /= a[k * n + k];
  }
  return b;
}

double max_rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double scale = 0.0, worst = 0.0;
  for (double v : b) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst / scale;
}

// Patterns on which LU takes no fill-in, so ILU(0) is the exact LU: tridiagonal, lower and
// upper triangular, and an arrow pointing at the last row/column.
std::vector<bool> no_fill_mask(std::size_t n, int kind) {
  std::vector<bool> m(n * n, false);
  for (std::size_t c = 0; c < n; ++c)
    for (std::size_t r = 0; r < n; ++r) {
      const bool on = kind == 0   ? (r + 1 == c || c + 1 == r)
                      : kind == 1 ? r > c
                      : kind == 2 ? r < c
                                  : (r == n - 1 || c == n - 1);
      m[c * n + r] = on;
    }
  return m;
}

}  // namespace

TEST(SparseIlu0, ExactWhereThePatternTakesNoFill) {
  const std::size_t n = 40;
  for (int kind = 0; kind < 4; ++kind) {
    SCOPED_TRACE(kind);
    Rng rng(11 + static_cast<std::uint64_t>(kind));
    const Pattern p = pattern_of(n, no_fill_mask(n, kind));
    SparseIlu0 ilu(p.colptr, p.rows);
    EXPECT_EQ(ilu.size(), n);
    EXPECT_EQ(ilu.nonzeros(), p.rows.size());
    const std::vector<double> J = fill_random(p, n, ilu, rng);
    std::vector<double> b(n);
    for (double& v : b) v = rng.uniform(-1.0, 1.0);
    for (double gamma : {1e-3, 0.1, 2.0}) {
      ASSERT_TRUE(ilu.factor(gamma));
      std::vector<double> x(n);
      ilu.solve(b.data(), x.data());
      EXPECT_LT(max_rel_diff(x, dense_solve(J, n, gamma, b)), 1e-12) << "gamma " << gamma;
      std::vector<double> in_place = b;  // z may alias r
      ilu.solve(in_place.data(), in_place.data());
      EXPECT_EQ(in_place, x);
    }
  }
}

// With fill-in dropped ILU(0) is approximate, but it must still precondition: the error of
// P⁻¹b against the exact solution is well below that of b itself (the unpreconditioned guess)
// and of the diagonal (Jacobi) preconditioner on a random 3-regulators-per-row network.
TEST(SparseIlu0, ApproximatesTheInverseOnARandomNetwork) {
  const std::size_t n = 200;
  Rng rng(5);
  std::vector<bool> mask(n * n, false);
  for (std::size_t r = 0; r < n; ++r)
    for (int k = 0; k < 3; ++k) {
      const auto c = static_cast<std::size_t>(rng.uniform(0.0, static_cast<double>(n)));
      mask[std::min(c, n - 1) * n + r] = true;
    }
  const Pattern p = pattern_of(n, mask);
  SparseIlu0 ilu(p.colptr, p.rows);
  std::vector<double> J = fill_random(p, n, ilu, rng);
  // Off-diagonal couplings scaled to a tenth of the row's degradation, as in the GRNs.
  for (std::size_t c = 0; c < n; ++c)
    for (auto k = p.colptr[c]; k < p.colptr[c + 1]; ++k) {
      const auto r = static_cast<std::size_t>(p.rows[static_cast<std::size_t>(k)]);
      if (r != c) {
        ilu.jacobian_values()[k] *= 0.1 * std::abs(J[r * n + r]) / 3.0;
        J[c * n + r] = ilu.jacobian_values()[k];
      }
    }
  std::vector<double> b(n);
  for (double& v : b) v = rng.uniform(-1.0, 1.0);
  const double gamma = 0.5;
  ASSERT_TRUE(ilu.factor(gamma));
  std::vector<double> x(n), jacobi(n);
  ilu.solve(b.data(), x.data());
  for (std::size_t i = 0; i < n; ++i) jacobi[i] = b[i] / (1.0 - gamma * J[i * n + i]);
  const std::vector<double> exact = dense_solve(J, n, gamma, b);
  const double err_ilu = max_rel_diff(x, exact), err_jacobi = max_rel_diff(jacobi, exact);
  EXPECT_LT(err_ilu, 0.5 * err_jacobi);
  EXPECT_LT(err_ilu, 0.05);
}

TEST(SparseIlu0, MultipliesByTheJacobian) {
  const std::size_t n = 30;
  Rng rng(3);
  std::vector<bool> mask(n * n);
  for (std::size_t k = 0; k < n * n; ++k) mask[k] = rng.uniform(0, 1) < 0.1;
  const Pattern p = pattern_of(n, mask);
  SparseIlu0 ilu(p.colptr, p.rows);
  const std::vector<double> J = fill_random(p, n, ilu, rng);
  std::vector<double> v(n), out(n, 99.0);
  for (double& x : v) x = rng.uniform(-1.0, 1.0);
  ilu.multiply(v.data(), out.data());
  for (std::size_t r = 0; r < n; ++r) {
    double expect = 0.0;
    for (std::size_t c = 0; c < n; ++c) expect += J[c * n + r] * v[c];
    EXPECT_NEAR(out[r], expect, 1e-13) << r;
  }
}

TEST(SparseIlu0, ZeroOrNonFinitePivotIsReportedNotUsed) {
  // [[1 - γ a, -γ b], [-γ c, 1 - γ d]] with γ = 1, a = 1: the first pivot is exactly 0.
  const std::vector<std::int64_t> colptr{0, 2, 4}, rows{0, 1, 0, 1};
  SparseIlu0 ilu(colptr, rows);
  double* v = ilu.jacobian_values();
  v[0] = 1.0, v[1] = 2.0, v[2] = 3.0, v[3] = -1.0;
  EXPECT_FALSE(ilu.factor(1.0));
  EXPECT_TRUE(ilu.factor(0.5));
  v[1] = std::numeric_limits<double>::quiet_NaN();  // below the diagonal: reaches L only
  EXPECT_FALSE(ilu.factor(0.5));
  v[1] = 2.0;
  v[3] = std::numeric_limits<double>::infinity();
  EXPECT_FALSE(ilu.factor(0.5));
}

// The pattern comes from our own OdeSystem: a malformed one is a bug (InternalError in Python).
TEST(SparseIlu0, RefusesMalformedPatterns) {
  // Missing diagonal entry (1, 1).
  EXPECT_THROW(SparseIlu0({0, 2, 3}, {0, 1, 0}), std::invalid_argument);
  // Unsorted rows, duplicates, out-of-range rows, colptr not ending at nnz, empty.
  EXPECT_THROW(SparseIlu0({0, 2, 4}, {1, 0, 0, 1}), std::invalid_argument);
  EXPECT_THROW(SparseIlu0({0, 2, 4}, {0, 0, 0, 1}), std::invalid_argument);
  EXPECT_THROW(SparseIlu0({0, 2, 4}, {0, 2, 0, 1}), std::invalid_argument);
  EXPECT_THROW(SparseIlu0({0, 2, 3}, {0, 1, 0, 1}), std::invalid_argument);
  EXPECT_THROW(SparseIlu0({}, {}), std::invalid_argument);
  EXPECT_NO_THROW(SparseIlu0({0, 2, 4}, {0, 1, 0, 1}));
}
