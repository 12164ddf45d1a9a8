#include "deviation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace hermnet_lammps {

void force_deviation(const double* forces, int64_t n_atoms, int n_models, double relative,
                     double* out) {
  const int width = 3 * n_models;
  for (int64_t i = 0; i < n_atoms; ++i) {
    const double* row = forces + i * width;
    double mean[3] = {0.0, 0.0, 0.0};
    for (int k = 0; k < n_models; ++k) {
      for (int d = 0; d < 3; ++d) mean[d] += row[3 * k + d];
    }
    for (double& m : mean) m /= n_models;
    // Two passes (mean, then squared differences) keep identical models at exactly zero.
    double spread = 0.0;
    for (int k = 0; k < n_models; ++k) {
      for (int d = 0; d < 3; ++d) {
        const double diff = row[3 * k + d] - mean[d];
        spread += diff * diff;
      }
    }
    double value = std::sqrt(spread / n_models);
    if (relative >= 0.0) {
      value /= std::sqrt(mean[0] * mean[0] + mean[1] * mean[1] + mean[2] * mean[2]) + relative;
    }
    out[i] = value;
  }
}

namespace {

// Population standard deviation of values[k * stride + offset] / scale over k.
double spread(const std::vector<double>& values, int n, int stride, int offset, double scale) {
  double mean = 0.0;
  for (int k = 0; k < n; ++k) mean += values[k * stride + offset] / scale;
  mean /= n;
  double sum = 0.0;
  for (int k = 0; k < n; ++k) {
    const double diff = values[k * stride + offset] / scale - mean;
    sum += diff * diff;
  }
  return std::sqrt(sum / n);
}

}  // namespace

DeviationColumns virial_energy_deviation(const std::vector<double>& virials,
                                         const std::vector<double>& energies, double n_atoms,
                                         double relative_v) {
  const int n = static_cast<int>(energies.size());
  std::array<double, 9> devi{};
  for (int c = 0; c < 9; ++c) devi[c] = spread(virials, n, 9, c, n_atoms);
  if (relative_v >= 0.0) {
    double norm = 0.0;
    for (int c = 0; c < 9; ++c) {
      double mean = 0.0;
      for (int k = 0; k < n; ++k) mean += virials[9 * k + c] / n_atoms;
      mean /= n;
      norm += mean * mean;
    }
    for (double& v : devi) v /= std::sqrt(norm) + relative_v;
  }
  DeviationColumns columns{};
  double max = devi[0], min = devi[0], squares = 0.0;
  for (double v : devi) {
    max = std::max(max, v);
    min = std::min(min, v);
    squares += v * v;
  }
  columns[0] = max;
  columns[1] = min;
  columns[2] = std::sqrt(squares) / 3.0;
  columns[6] = spread(energies, n, 1, 0, n_atoms);
  return columns;
}

std::string model_devi_header(bool atomic) {
  static const char* const NAMES[] = {"max_devi_v", "min_devi_v", "avg_devi_v", "max_devi_f",
                                      "min_devi_f", "avg_devi_f", "devi_e"};
  char buf[32];
  std::snprintf(buf, sizeof(buf), "#%11s", "step");
  std::string line = buf;
  for (const char* name : NAMES) {
    std::snprintf(buf, sizeof(buf), "%19s", name);
    line += buf;
  }
  if (atomic) {
    std::snprintf(buf, sizeof(buf), "%19s", "atm_devi_f(N)");
    line += buf;
  }
  return line + "\n";
}

std::string model_devi_row(int64_t step, const DeviationColumns& columns,
                           const std::vector<double>& atomic) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%12lld", static_cast<long long>(step));
  std::string line = buf;
  for (double v : columns) {
    std::snprintf(buf, sizeof(buf), "%19.6e", v);
    line += buf;
  }
  for (double v : atomic) {
    std::snprintf(buf, sizeof(buf), "%19.6e", v);
    line += buf;
  }
  return line + "\n";
}

}  // namespace hermnet_lammps
