#pragma once
// Internal: the preconditioner of the Krylov linear solver (linear_solver "gmres"). CVODES' Newton
// matrix is M = I - γJ with J = ∂f/∂y sparse; the preconditioner P ≈ M is the incomplete LU
// factorisation of M on J's own pattern, ILU(0): no fill-in, so it costs O(nnz · row length)
// to build and O(nnz) to apply however the pattern is wired (exact LU of a random network's
// Jacobian fills in ~n² entries: KLU on a 5,000-gene GRN stores 40x the nonzeros of J).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace osteogrn::detail {

/// ILU(0) of I - γJ for a CSC pattern of J with every diagonal entry present; also J·v.
class SparseIlu0 {
 public:
  /// colptr (n+1 entries) and rows (sorted within each column) as OdeSystem::jacobian_pattern
  /// gives them. Throws std::invalid_argument (a bug: OdeSystem promises both) if a diagonal
  /// entry is missing or the pattern is malformed.
  SparseIlu0(const std::vector<std::int64_t>& colptr, const std::vector<std::int64_t>& rows);

  std::size_t size() const { return n_; }
  std::size_t nonzeros() const { return rows_.size(); }
  /// J's values in the CSC order of the pattern: fill them, then call factor().
  double* jacobian_values() { return jac_.data(); }

  /// Factors I - γJ from the current jacobian_values(). False (factors unusable) if a pivot is
  /// zero or a factor is not finite: the caller reports a recoverable failure (CVODES retries).
  bool factor(double gamma);
  /// z = P⁻¹ r (z may alias r).
  void solve(const double* r, double* z) const;
  /// out = J v with the current jacobian_values() (out must not alias v).
  void multiply(const double* v, double* out) const;

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::size_t n_;
  std::vector<std::size_t> colptr_, rows_;  // J's pattern, CSC
  std::vector<double> jac_;                 // J's values, CSC order
  // M = I - γJ and its factors in CSR (row-wise elimination): row i holds L (unit diagonal,
  // not stored) left of diag_[i] and U from diag_[i] on; csc_to_csr_ maps J's entries there.
  std::vector<std::size_t> rowptr_, cols_, diag_, csc_to_csr_;
  std::vector<double> lu_;
  std::vector<std::size_t> where_;  // scratch: position of a column in the current row, or kNone
};

}  // namespace osteogrn::detail
