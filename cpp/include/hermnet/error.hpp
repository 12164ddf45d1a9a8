// The one exception type of the HermNet core: every failure says what and how to fix it.
#pragma once

#include <stdexcept>
#include <string>

namespace hermnet {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace hermnet
