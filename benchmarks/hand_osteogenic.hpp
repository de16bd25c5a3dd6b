#pragma once
// A hand-written C++ right-hand side of the composed `osteogenic` model (models/osteogenic.json:
// bmp2_smad + wnt_betacatenin + ihh_gli + runx2_osterix, ports bound by name), written the way
// a modeller would code it in C: named constants, fixed array indices, literal Hill exponents
// where the model writes literals. The baseline for the tape (issue #6, item 3b).
#include <array>

namespace osteogrn_bench {

// State, parameter and input orders of the hand code: the composed model's own orders (module
// by module, as osteogenic.json imports them). bench_rhs still maps them by name, once, and
// refuses to run if any name is missing. The parameters o_basal, b_col1a1, ca_cell, od_bg,
// od_max and K_ars appear only in observables, not in the RHS, but are listed so that the
// counts match.
#define OG_HAND_SPECIES(X)                                                                   \
  X(R_act) X(pSmad158) X(Smad_complex) X(DC) X(bcat) X(Ihh) X(GliA) X(GliR) X(PTHrP)          \
  X(Runx2) X(Sp7) X(Col) X(P) X(Pre) X(Imm) X(Mat) X(ALP_act) X(OCN_level) X(Ca_dep)
#define OG_HAND_INPUTS(X)                                                                    \
  X(bmp2) X(noggin) X(ldn) X(wnt3a) X(dkk1) X(purmorphamine) X(cyclopamine) X(dex) X(asc2p)   \
  X(bgp) X(fgf2)
#define OG_HAND_PARAMS(X)                                                                    \
  X(K_bmp) X(K_nog) X(IC50_ldn) X(b_bmp) X(k_ract) X(k_rdeact) X(k_phos) X(k_dephos)          \
  X(k_cplx) X(k_dcplx)                                                                        \
  X(wnt_basal) X(K_wnt) X(K_dkk) X(k_dc_rec) X(k_dc_inact) X(v_bcat) X(k_bcat_basal)          \
  X(k_bcat_dc) X(TCF_total) X(K_tcf)                                                          \
  X(v_ihh) X(b_ihh) X(K_runx2_ihh) X(d_ihh) X(K_ihh) X(EC50_purm) X(IC50_cyc) X(k_glia)       \
  X(k_glir) X(d_gli) X(v_pthrp) X(K_gli_pthrp) X(d_pthrp)                                     \
  X(K_dex) X(K_asc) X(Pi_basal) X(K_pi) X(n_pi) X(b_runx2) X(w_dex) X(w_smad) X(w_gli)        \
  X(w_col) X(v_runx2) X(d_runx2) X(K_pthrp) X(rep_mat) X(v_sp7) X(K_runx2_sp7) X(b_sp7)       \
  X(w_sp7_smad) X(w_sp7_wnt) X(d_sp7) X(k_col) X(b_col) X(d_col) X(k_commit) X(b_commit)      \
  X(K_bc_prog) X(n_bc) X(k_pre) X(k_mat) X(K_bc_mat) X(k_alp) X(a_pre) X(a_mat) X(d_alp)      \
  X(k_ocn) X(K_sp7_ocn) X(d_ocn) X(k_min) X(K_runx2_alp) X(K_col_alp) X(k_prolif)             \
  X(w_wnt_prolif) X(i_dex_prolif) X(K_fgf) X(w_fgf_prolif) X(w_fgf_runx2) X(w_fgf_col)        \
  X(w_fgf_alp) X(w_fgf_ocn) X(a_basal) X(o_basal) X(b_col1a1) X(ca_cell) X(od_bg) X(od_max)   \
  X(K_ars)

#define OG_HAND_ENUM(name) name,
namespace sp { enum : int { OG_HAND_SPECIES(OG_HAND_ENUM) count }; }
namespace in { enum : int { OG_HAND_INPUTS(OG_HAND_ENUM) count }; }
namespace pa { enum : int { OG_HAND_PARAMS(OG_HAND_ENUM) count }; }
#undef OG_HAND_ENUM

#define OG_HAND_NAME(name) #name,
inline constexpr std::array<const char*, sp::count> kSpeciesNames{OG_HAND_SPECIES(OG_HAND_NAME)};
inline constexpr std::array<const char*, in::count> kInputNames{OG_HAND_INPUTS(OG_HAND_NAME)};
inline constexpr std::array<const char*, pa::count> kParamNames{OG_HAND_PARAMS(OG_HAND_NAME)};
#undef OG_HAND_NAME

/// dy = f(y, p, u) in the hand code's orders (time does not appear in the model). Defined in
/// its own translation unit, so that the compiler cannot hoist it out of the benchmark loop.
void hand_osteogenic_rhs(const double* y, const double* p, const double* u, double* dy);

}  // namespace osteogrn_bench
