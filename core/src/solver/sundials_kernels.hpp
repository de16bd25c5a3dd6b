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
#include <sundials/sundials_config.h>
#include <sundials/sundials_linearsolver.h>
#include <sundials/sundials_matrix.h>
#include <sundials/sundials_nvector.h>

// The replacements read SUNDIALS' content structs (N_VectorContent_Serial, SUNMatrixContent_Dense,
// SUNLinearSolverContent_Dense) and repeat 6.4's arithmetic operation by operation; another
// release may lay those structs out or round differently. So they are compiled in for SUNDIALS
// 6.4.x only; with any other version the use_fast_* calls do nothing and the stock kernels run.
#if SUNDIALS_VERSION_MAJOR == 6 && SUNDIALS_VERSION_MINOR == 4
#define OSTEOGRN_FAST_SUNDIALS_KERNELS 1
#else
#define OSTEOGRN_FAST_SUNDIALS_KERNELS 0
#endif

namespace osteogrn::detail {

/// True when the replacements are compiled in (SUNDIALS 6.4.x); false = stock kernels.
inline constexpr bool kFastSundialsKernels = OSTEOGRN_FAST_SUNDIALS_KERNELS != 0;

/// True when the SUNDIALS library loaded at run time is 6.4.x as well (the use_fast_* calls
/// check it and leave the stock kernels in place otherwise).
bool runtime_is_6_4();

/// Replaces the hot operations of a serial N_Vector (N_VNew_Serial); clones inherit them.
void use_fast_vector_ops(N_Vector v);

/// Replaces zero, copy and scale-add-identity of a dense SUNMatrix (SUNDenseMatrix); clones
/// (CVODES' saved Jacobian) get them too.
void use_fast_dense_ops(SUNMatrix A);

/// Replaces LU setup and solve of a dense linear solver (SUNLinSol_Dense).
void use_fast_dense_solver(SUNLinearSolver ls);

}  // namespace osteogrn::detail
