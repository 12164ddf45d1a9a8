// Committee model deviation as DeePMD-kit defines it (hermnet/deviation.py is the reference;
// tests/lammps/test_lammps_committee.py keeps the two in agreement), without LAMMPS or MPI:
// the pair style folds ghost rows, reduces over ranks and calls these on the totals.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace hermnet_lammps {

// e_f[i] = sqrt(<|F_k[i] - <F[i]>|^2>) over the K models (population, as numpy's std), per
// atom; forces[i * 3K + 3k + d] is model k's force on atom i. relative >= 0 divides by
// |<F[i]>| + relative (DeePMD's `relative LEVEL`); negative: absolute deviation.
void force_deviation(const double* forces, int64_t n_atoms, int n_models, double relative,
                     double* out);

// The columns of model_devi.out after the step: max/min/avg virial deviation, max/min/avg
// force deviation, energy deviation per atom.
using DeviationColumns = std::array<double, 7>;

// virials: K x 9 (summed over ranks), energies: K; n_atoms: all model atoms of the frame.
// relative_v >= 0 divides by |<W / N>| + relative_v (the norm over all nine components, as
// `dp model-devi --relative_v`). Force columns are filled by the caller (reduced over ranks).
DeviationColumns virial_energy_deviation(const std::vector<double>& virials,
                                         const std::vector<double>& energies, double n_atoms,
                                         double relative_v);

// pair_style deepmd's widths: "#" + step right-aligned in 11, then 19 per column; rows %12d
// then %19.6e. `atomic` appends atm_devi_f(N) to the header and one value per atom to rows.
std::string model_devi_header(bool atomic);
std::string model_devi_row(int64_t step, const DeviationColumns& columns,
                           const std::vector<double>& atomic);

}  // namespace hermnet_lammps
