// The osteogenic model's equations, transcribed by hand from models/{bmp2_smad,
// wnt_betacatenin,ihh_gli,runx2_osterix}.json. hill(x,K,n) counts x <= 0 as 0, as docs/formats/model.md's
// hill does; n = 1 and n = 2 are literals in the model files, n_pi and n_bc are parameters.
// Every expression keeps the model's order of operations (left to right, as written), so that
// tape and hand code round alike and agree to the last bits, also where dP/dt nearly cancels.
#include <cmath>

#include "hand_osteogenic.hpp"

namespace osteogrn_bench {

namespace {
inline double pos(double x) { return x > 0.0 ? x : 0.0; }
inline double hill1(double x, double k) { const double v = pos(x); return v / (k + v); }
inline double hill2(double x, double k) {
  const double v = pos(x);
  return v * v / (k * k + v * v);
}
inline double hill_rep1(double x, double k) { return k / (k + pos(x)); }
inline double hilln(double x, double k, double n) {
  const double v = std::pow(pos(x), n);
  return v / (std::pow(k, n) + v);
}
inline double hill_repn(double x, double k, double n) {
  const double kn = std::pow(k, n);
  return kn / (kn + std::pow(pos(x), n));
}
}  // namespace

void hand_osteogenic_rhs(const double* y, const double* p, const double* u, double* dy) {
  using namespace pa;
  // bmp2_smad
  const double R_act = y[sp::R_act], pSmad158 = y[sp::pSmad158], Smad_complex = y[sp::Smad_complex];
  const double nog = hill_rep1(u[in::noggin], p[K_nog]);
  const double bmp_free = u[in::bmp2] * nog;
  const double alk_activity = hill_rep1(u[in::ldn], p[IC50_ldn]);
  const double bmp_occupancy = (p[b_bmp] * nog + bmp_free / (bmp_free + p[K_bmp])) * alk_activity;
  const double smad_signal = Smad_complex;
  dy[sp::R_act] = p[k_ract] * bmp_occupancy * (1 - R_act) - p[k_rdeact] * R_act;
  dy[sp::pSmad158] = p[k_phos] * R_act * (1 - pSmad158 - Smad_complex) - p[k_dephos] * pSmad158 -
                     p[k_cplx] * pSmad158 + p[k_dcplx] * Smad_complex;
  dy[sp::Smad_complex] = p[k_cplx] * pSmad158 - p[k_dcplx] * Smad_complex;

  // wnt_betacatenin
  const double DC = y[sp::DC], bcat = y[sp::bcat];
  const double wnt_ligand = (u[in::wnt3a] + p[wnt_basal]) * hill_rep1(u[in::dkk1], p[K_dkk]);
  const double bcat_tcf = p[TCF_total] * bcat / (bcat + p[K_tcf]);
  dy[sp::DC] = p[k_dc_rec] * (1 - DC) - p[k_dc_inact] * hill1(wnt_ligand, p[K_wnt]) * DC;
  dy[sp::bcat] = p[v_bcat] - (p[k_bcat_basal] + p[k_bcat_dc] * DC) * bcat;

  // ihh_gli (its Runx2 port is the Runx2 species)
  const double Ihh = y[sp::Ihh], GliA = y[sp::GliA], GliR = y[sp::GliR], PTHrP = y[sp::PTHrP];
  const double Runx2 = y[sp::Runx2];
  const double smo_drive = Ihh / p[K_ihh] + u[in::purmorphamine] / p[EC50_purm];
  const double smo = smo_drive / (1 + smo_drive) * hill_rep1(u[in::cyclopamine], p[IC50_cyc]);
  const double gli_signal = GliA / (GliA + GliR);
  dy[sp::Ihh] = p[v_ihh] * (p[b_ihh] + hill2(Runx2, p[K_runx2_ihh])) - p[d_ihh] * Ihh;
  dy[sp::GliA] = p[k_glia] * smo - p[d_gli] * GliA;
  dy[sp::GliR] = p[k_glir] * (1 - smo) - p[d_gli] * GliR;
  dy[sp::PTHrP] = p[v_pthrp] * hill2(gli_signal, p[K_gli_pthrp]) - p[d_pthrp] * PTHrP;

  // runx2_osterix (ports: smad_signal, bcat_tcf, gli_signal, PTHrP)
  const double Sp7 = y[sp::Sp7], Col = y[sp::Col], P = y[sp::P], Pre = y[sp::Pre];
  const double Imm = y[sp::Imm], Mat = y[sp::Mat], ALP_act = y[sp::ALP_act];
  const double OCN_level = y[sp::OCN_level];
  const double dex_eff = hill1(u[in::dex], p[K_dex]);
  const double asc_eff = hill1(u[in::asc2p], p[K_asc]);
  const double fgf_eff = hill1(u[in::fgf2], p[K_fgf]);
  const double phosphate = hilln(p[Pi_basal] + u[in::bgp], p[K_pi], p[n_pi]);
  const double wnt_self_renewal = hill_repn(bcat_tcf, p[K_bc_prog], p[n_bc]);
  const double wnt_maturation = hilln(bcat_tcf, p[K_bc_mat], p[n_bc]);
  const double n_cells = P + Pre + Imm + Mat;
  const double runx2_drive = p[b_runx2] + p[w_dex] * dex_eff + p[w_smad] * smad_signal +
                             p[w_gli] * gli_signal + p[w_col] * Col + p[w_fgf_runx2] * fgf_eff;
  const double commitment = p[k_commit] * Runx2 * (p[b_commit] + dex_eff) * wnt_self_renewal * P;
  const double to_immature = p[k_pre] * Runx2 * Col * Pre;
  const double to_mature = p[k_mat] * Sp7 * Col * wnt_maturation * Imm;
  // Progenitors and pre-osteoblasts grow logistically: (1 - n_cells) is contact inhibition,
  // n_cells = 1 being a confluent well.
  const double proliferation = p[k_prolif] *
                               (1 + p[w_wnt_prolif] * hilln(bcat_tcf, p[K_bc_prog], p[n_bc])) *
                               (1 - p[i_dex_prolif] * dex_eff) *
                               (1 + p[w_fgf_prolif] * fgf_eff) * (1 - n_cells);
  // ALP_act and OCN_level hold what committed and mature cells make; the basal activity of the
  // other cells enters quasi-steadily through alp_total (as the model writes it, so that both
  // codes round the same way).
  const double alp_basal_per_cell =
      p[a_basal] * hill1(Runx2, p[K_runx2_alp]) / (1 + p[w_fgf_alp] * fgf_eff);
  const double alp_induced_per_cell =
      (p[a_pre] * Pre + (Imm + p[a_mat] * Mat) * hill2(Col, p[K_col_alp])) *
      hill1(Runx2, p[K_runx2_alp]) / (1 + p[w_fgf_alp] * fgf_eff) / n_cells;
  const double alp_total = ALP_act + p[k_alp] * alp_basal_per_cell * n_cells / p[d_alp];
  dy[sp::Runx2] = p[v_runx2] * runx2_drive * hill_rep1(PTHrP, p[K_pthrp]) * (1 - p[rep_mat] * Mat) -
                  p[d_runx2] * Runx2;
  dy[sp::Sp7] = p[v_sp7] * hill2(Runx2, p[K_runx2_sp7]) *
                    (p[b_sp7] + p[w_sp7_smad] * smad_signal + p[w_sp7_wnt] * wnt_maturation) -
                p[d_sp7] * Sp7;
  dy[sp::Col] = p[k_col] * (p[b_col] + asc_eff) * (1 - Col) / (1 + p[w_fgf_col] * fgf_eff) -
                p[d_col] * Col;
  dy[sp::P] = proliferation * P - commitment;
  dy[sp::Pre] = proliferation * Pre + commitment - to_immature;
  dy[sp::Imm] = to_immature - to_mature;
  dy[sp::Mat] = to_mature;
  dy[sp::ALP_act] = p[k_alp] * alp_induced_per_cell * n_cells - p[d_alp] * ALP_act;
  dy[sp::OCN_level] = p[k_ocn] * Mat * hill2(Sp7, p[K_sp7_ocn]) / (1 + p[w_fgf_ocn] * fgf_eff) -
                      p[d_ocn] * OCN_level;
  dy[sp::Ca_dep] = p[k_min] * alp_total * phosphate * Col * Mat;
}

}  // namespace osteogrn_bench
