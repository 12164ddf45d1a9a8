// Metadata of an exported HermNet model (the JSON written by hermnet/export/exporter.py).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace hermnet {

// A small training structure and the outputs the eager Python model computed at export.
struct SelfCheckFrame {
  std::string source;
  std::vector<double> positions;  // n * 3, Å
  std::vector<int64_t> types;     // n
  std::array<double, 9> cell{};   // rows are cell vectors, Å
  std::array<bool, 3> pbc{};
  double energy = 0.0;                // eV
  std::vector<double> atomic_energy;  // n, eV
  std::vector<double> forces;         // n * 3, eV/Å
  std::array<double, 9> virial{};     // eV
  double energy_atol_per_atom = 0.0;
  double rtol = 0.0;
  double atol = 0.0;
};

struct Metadata {
  int format_version = 0;
  std::string hermnet_version;
  std::string torch_version;
  std::vector<std::string> elements;  // chemical symbols in type order
  std::vector<int> atomic_numbers;    // in type order
  double cutoff = 0.0;                // Å
  int num_message_hops = 0;           // layers x hops per layer (hermconv 2, painn 1)
  double receptive_field = 0.0;       // Å, num_message_hops * cutoff
  std::string variant;                // vertex, pair or triad
  std::string dtype;                  // float32 or float64
  std::string energy_unit;            // eV
  std::string length_unit;            // Å
  int64_t num_parameters = 0;
  std::string training_data;
  SelfCheckFrame self_check;
  int hop_interface = 0;     // version of the hop-by-hop methods; 0: the file has none
  int features = 0;          // model_config.features (0 if absent): for memory estimates
  bool tf32 = false;         // float32 matrix products may use TF32 on GPUs
  bool fused_edges = false;  // calls the core's fused edge operators (fused_ops.cpp)
  std::string json;          // the raw metadata, for tools that want the rest

  // Parse and validate; throws hermnet::Error naming `where` and the problem.
  static Metadata parse(const std::string& json, const std::string& where);
};

}  // namespace hermnet
