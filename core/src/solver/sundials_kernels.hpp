#pragma once
// Internal: optimised replacements for the SUNDIALS serial-vector, dense-matrix and dense-LU
// kernels, installed through SUNDIALS' own operation tables.
//
// Why: Debian 12's libsundials 6.4.1 is compiled without optimisation (every loop counter lives
// on the stack: `gdb -batch -ex "disassemble SUNMatCopy_Dense" libsundials_cvodes.so.6`), and a
// cvode_bdf run of `osteogenic` (19 states) spent ~75 % of its time in those kernels. These
// functions do the same arithmetic in the same order, compiled with our flags (and
// -ffp-contract=off), so results stay bit-identical to the stock kernels — checked op by op and
// on whole CVODES runs in tests/cpp/test_sundials_kernels.cpp — only faster.
#include <sundials/sundials_linearsolver.h>
#include <sundials/sundials_matrix.h>
#include <sundials/sundials_nvector.h>

namespace osteogrn::detail {

/// Replaces the hot operations of a serial N_Vector (N_VNew_Serial); clones inherit them.
void use_fast_vector_ops(N_Vector v);

/// Replaces zero, copy and scale-add-identity of a dense SUNMatrix (SUNDenseMatrix); clones
/// (CVODES' saved Jacobian) get them too.
void use_fast_dense_ops(SUNMatrix A);

/// Replaces LU setup and solve of a dense linear solver (SUNLinSol_Dense).
void use_fast_dense_solver(SUNLinearSolver ls);

}  // namespace osteogrn::detail
