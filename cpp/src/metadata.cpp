#include "hermnet/metadata.hpp"

#include <cmath>

#include "hermnet/error.hpp"
#include "hermnet/keys.hpp"
#include "json.hpp"

namespace hermnet {
namespace {

using json::Value;

class Reader {
 public:
  Reader(const Value& object, std::string where) : obj_(object), where_(std::move(where)) {}

  const Value& get(const char* key, Value::Kind kind, const char* kind_name) const {
    if (!obj_.has(key)) {
      throw Error(where_ + ": metadata is missing '" + key + "'; re-export the model");
    }
    const Value& v = obj_.object.at(key);
    if (v.kind != kind) {
      throw Error(where_ + ": metadata '" + key + "' is not " + kind_name + "; re-export");
    }
    return v;
  }
  double number(const char* key) const { return get(key, Value::Kind::Number, "a number").number; }
  int64_t integer(const char* key) const {
    const double x = number(key);
    if (std::floor(x) != x) throw Error(where_ + ": metadata '" + key + "' is not an integer");
    return static_cast<int64_t>(x);
  }
  std::string string(const char* key) const {
    return get(key, Value::Kind::String, "a string").string;
  }
  const Value& object(const char* key) const { return get(key, Value::Kind::Object, "an object"); }

  // A nested array flattened in row-major order; `expected` < 0 accepts any length.
  std::vector<double> numbers(const char* key, long expected = -1) const {
    std::vector<double> out;
    flatten(get(key, Value::Kind::Array, "an array"), key, out);
    if (expected >= 0 && static_cast<long>(out.size()) != expected) {
      throw Error(where_ + ": metadata '" + key + "' has " + std::to_string(out.size()) +
                  " numbers, expected " + std::to_string(expected));
    }
    return out;
  }
  std::vector<std::string> strings(const char* key) const {
    std::vector<std::string> out;
    for (const Value& v : get(key, Value::Kind::Array, "an array").array) {
      if (v.kind != Value::Kind::String) throw Error(where_ + ": '" + key + "' must hold strings");
      out.push_back(v.string);
    }
    return out;
  }

 private:
  const Value& obj_;
  std::string where_;

  void flatten(const Value& v, const char* key, std::vector<double>& out) const {
    if (v.kind == Value::Kind::Number) {
      out.push_back(v.number);
    } else if (v.kind == Value::Kind::Bool) {
      out.push_back(v.boolean ? 1.0 : 0.0);
    } else if (v.kind == Value::Kind::Array) {
      for (const Value& item : v.array) flatten(item, key, out);
    } else {
      throw Error(where_ + ": metadata '" + key + "' must hold numbers");
    }
  }
};

template <size_t N>
std::array<double, N> to_array(const std::vector<double>& v) {
  std::array<double, N> out{};
  for (size_t i = 0; i < N; ++i) out[i] = v[i];
  return out;
}

SelfCheckFrame parse_frame(const Reader& r) {
  SelfCheckFrame f;
  f.source = r.string(keys::CHECK_SOURCE);
  f.positions = r.numbers(keys::CHECK_POSITIONS);
  const long n = static_cast<long>(f.positions.size() / 3);
  for (double t : r.numbers(keys::CHECK_TYPES, n)) f.types.push_back(static_cast<int64_t>(t));
  f.cell = to_array<9>(r.numbers(keys::CHECK_CELL, 9));
  const auto pbc = r.numbers(keys::CHECK_PBC, 3);
  for (size_t k = 0; k < 3; ++k) f.pbc[k] = pbc[k] != 0.0;
  f.energy = r.number(keys::CHECK_ENERGY);
  f.atomic_energy = r.numbers(keys::CHECK_ATOMIC_ENERGY, n);
  f.forces = r.numbers(keys::CHECK_FORCES, 3 * n);
  f.virial = to_array<9>(r.numbers(keys::CHECK_VIRIAL, 9));
  f.energy_atol_per_atom = r.number(keys::CHECK_ENERGY_ATOL);
  f.rtol = r.number(keys::CHECK_RTOL);
  f.atol = r.number(keys::CHECK_ATOL);
  return f;
}

// An optional true/false entry; absent means false.
bool optional_bool(const Value& root, const char* key, const std::string& where) {
  if (!root.has(key)) return false;
  const Value& value = root.object.at(key);
  if (value.kind != Value::Kind::Bool)
    throw Error(where + ": metadata " + key + " must be true or false");
  return value.boolean;
}

}  // namespace

Metadata Metadata::parse(const std::string& text, const std::string& where) {
  Value root;
  try {
    root = json::parse(text);
  } catch (const std::exception& err) {
    throw Error(where + ": " + keys::METADATA_FILE + " is not valid JSON (" + err.what() + ")");
  }
  if (root.kind != Value::Kind::Object || !root.has(keys::METADATA_FORMAT) ||
      root.object.at(keys::METADATA_FORMAT).string != keys::FORMAT_NAME) {
    throw Error(where + " is not an exported HermNet model (wrong format name)");
  }
  const Reader r(root, where);
  Metadata m;
  m.format_version = static_cast<int>(r.integer(keys::METADATA_FORMAT_VERSION));
  if (m.format_version > keys::FORMAT_VERSION) {
    throw Error(where + " has model format version " + std::to_string(m.format_version) +
                ", newer than this HermNet core supports (" + std::to_string(keys::FORMAT_VERSION) +
                "); rebuild it from a newer hermnet");
  }
  m.hermnet_version = r.string(keys::METADATA_HERMNET_VERSION);
  m.torch_version = r.string(keys::METADATA_TORCH_VERSION);
  m.elements = r.strings(keys::METADATA_ELEMENTS);
  for (double z : r.numbers(keys::METADATA_ATOMIC_NUMBERS, static_cast<long>(m.elements.size()))) {
    m.atomic_numbers.push_back(static_cast<int>(z));
  }
  m.cutoff = r.number(keys::METADATA_CUTOFF);
  m.num_message_hops = static_cast<int>(r.integer(keys::METADATA_NUM_HOPS));
  m.receptive_field = r.number(keys::METADATA_RECEPTIVE_FIELD);
  m.variant = r.string(keys::METADATA_VARIANT);
  m.dtype = r.string(keys::METADATA_DTYPE);
  if (m.dtype != "float32" && m.dtype != "float64") {
    throw Error(where + ": metadata dtype '" + m.dtype + "' is not float32 or float64");
  }
  const Reader units(r.object(keys::METADATA_UNITS), where + " (units)");
  m.energy_unit = units.string("energy");
  m.length_unit = units.string("length");
  m.num_parameters = r.integer(keys::METADATA_NUM_PARAMETERS);
  m.training_data = r.string(keys::METADATA_TRAINING_DATA);
  m.self_check = parse_frame(Reader(r.object(keys::METADATA_SELF_CHECK), where + " (self_check)"));
  // Optional: files exported before the hop-by-hop methods existed lack it.
  if (root.has(keys::METADATA_HOP_INTERFACE)) {
    m.hop_interface = static_cast<int>(r.integer(keys::METADATA_HOP_INTERFACE));
  }
  m.tf32 = optional_bool(root, keys::METADATA_TF32, where);
  m.fused_edges = optional_bool(root, keys::METADATA_FUSED_EDGES, where);
  if (root.has(keys::METADATA_MODEL_CONFIG)) {
    const Value& config = root.object.at(keys::METADATA_MODEL_CONFIG);
    if (config.has("features") && config.object.at("features").kind == Value::Kind::Number) {
      m.features = static_cast<int>(config.object.at("features").number);
    }
  }
  m.json = text;
  return m;
}

}  // namespace hermnet
