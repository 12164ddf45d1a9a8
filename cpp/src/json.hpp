// A minimal JSON reader for the model metadata (libtorch ships no JSON library).
// Private to the core: objects, arrays, strings (with \u escapes), numbers, true/false/null.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace hermnet::json {

struct Value {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  double number = 0.0;
  std::string string;
  std::vector<Value> array;
  std::map<std::string, Value> object;

  bool has(const std::string& key) const { return kind == Kind::Object && object.count(key) > 0; }
};

// Throws std::runtime_error with the byte offset of the problem.
Value parse(const std::string& text);

}  // namespace hermnet::json
