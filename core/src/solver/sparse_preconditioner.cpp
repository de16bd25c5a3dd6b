#include "solver/sparse_preconditioner.hpp"

#include <cmath>
#include <stdexcept>
#include <string>


namespace osteogrn::detail {

SparseIlu0::SparseIlu0(const std::vector<std::int64_t>& colptr,
                       const std::vector<std::int64_t>& rows)
    : n_(colptr.empty() ? 0 : colptr.size() - 1) {
  if (n_ == 0 || colptr.front() != 0 || colptr.back() != static_cast<std::int64_t>(rows.size()))
    throw std::invalid_argument("internal: sparse preconditioner: malformed Jacobian pattern");
  const std::size_t nnz = rows.size();
  colptr_.resize(n_ + 1);
  rows_.resize(nnz);
  for (std::size_t c = 0; c <= n_; ++c) {
    if (c > 0 && colptr[c] < colptr[c - 1])
      throw std::invalid_argument("internal: sparse preconditioner: malformed Jacobian pattern");
    colptr_[c] = static_cast<std::size_t>(colptr[c]);
  }
  for (std::size_t c = 0; c < n_; ++c) {
    for (std::size_t k = colptr_[c]; k < colptr_[c + 1]; ++k) {
      // Sorted, distinct and in range: the elimination below finds entries by column.
      if (rows[k] < 0 || rows[k] >= static_cast<std::int64_t>(n_) ||
          (k > colptr_[c] && rows[k] <= rows[k - 1]))
        throw std::invalid_argument("internal: sparse preconditioner: malformed Jacobian pattern");
      rows_[k] = static_cast<std::size_t>(rows[k]);
    }
  }
  jac_.assign(nnz, 0.0);
  // CSR of the same pattern: counting entries per row, then walking the columns in order,
  // leaves every row's columns sorted.
  rowptr_.assign(n_ + 1, 0);
  for (std::size_t r : rows_) ++rowptr_[r + 1];
  for (std::size_t i = 0; i < n_; ++i) rowptr_[i + 1] += rowptr_[i];
  cols_.resize(nnz);
  csc_to_csr_.resize(nnz);
  std::vector<std::size_t> next(rowptr_.begin(), rowptr_.end() - 1);
  for (std::size_t c = 0; c < n_; ++c) {
    for (std::size_t k = colptr_[c]; k < colptr_[c + 1]; ++k) {
      const std::size_t at = next[rows_[k]]++;
      cols_[at] = c;
      csc_to_csr_[k] = at;
    }
  }
  diag_.assign(n_, kNone);
  for (std::size_t i = 0; i < n_; ++i)
    for (std::size_t k = rowptr_[i]; k < rowptr_[i + 1]; ++k)
      if (cols_[k] == i) diag_[i] = k;
  for (std::size_t i = 0; i < n_; ++i)
    if (diag_[i] == kNone)
      throw std::invalid_argument(
          "internal: sparse preconditioner: the Jacobian pattern lacks diagonal entry " +
          std::to_string(i));
  lu_.assign(nnz, 0.0);
  where_.assign(n_, kNone);
}

bool SparseIlu0::factor(double gamma) {
  const std::size_t nnz = rows_.size();
  for (std::size_t k = 0; k < nnz; ++k) lu_[csc_to_csr_[k]] = -gamma * jac_[k];
  for (std::size_t i = 0; i < n_; ++i) lu_[diag_[i]] += 1.0;
  // Row-wise (IKJ) ILU(0): eliminate row i's entries left of the diagonal with the rows above,
  // dropping every update that falls outside the pattern.
  for (std::size_t i = 0; i < n_; ++i) {
    const std::size_t begin = rowptr_[i], end = rowptr_[i + 1], d = diag_[i];
    for (std::size_t k = begin; k < end; ++k) where_[cols_[k]] = k;
    for (std::size_t k = begin; k < d; ++k) {
      const std::size_t above = cols_[k];
      const double l = lu_[k] / lu_[diag_[above]];
      lu_[k] = l;
      for (std::size_t m = diag_[above] + 1; m < rowptr_[above + 1]; ++m) {
        const std::size_t at = where_[cols_[m]];
        if (at != kNone) lu_[at] -= l * lu_[m];
      }
    }
    for (std::size_t k = begin; k < end; ++k) where_[cols_[k]] = kNone;
    const double pivot = lu_[d];
    if (pivot == 0.0 || !std::isfinite(pivot)) return false;
  }
  // A NaN/Inf left of a diagonal need not reach a pivot; the solve would spread it.
  for (double v : lu_)
    if (!std::isfinite(v)) return false;
  return true;
}

void SparseIlu0::solve(const double* r, double* z) const {
  // L y = r (unit lower triangle), then U z = y; row i reads only entries already written.
  for (std::size_t i = 0; i < n_; ++i) {
    double s = r[i];
    for (std::size_t k = rowptr_[i]; k < diag_[i]; ++k) s -= lu_[k] * z[cols_[k]];
    z[i] = s;
  }
  for (std::size_t i = n_; i-- > 0;) {
    double s = z[i];
    for (std::size_t k = diag_[i] + 1; k < rowptr_[i + 1]; ++k) s -= lu_[k] * z[cols_[k]];
    z[i] = s / lu_[diag_[i]];
  }
}

void SparseIlu0::multiply(const double* v, double* out) const {
  for (std::size_t i = 0; i < n_; ++i) out[i] = 0.0;
  for (std::size_t c = 0; c < n_; ++c) {
    const double vc = v[c];
    for (std::size_t k = colptr_[c]; k < colptr_[c + 1]; ++k) out[rows_[k]] += jac_[k] * vc;
  }
}

}  // namespace osteogrn::detail
