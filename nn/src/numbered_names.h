// Keras-style numbered layer names, "dense", "dense_1", "dense_2", ...: the name with a number,
// and a name split back into its default name and number (for checkpoints with older numbering).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace tape::nn {

// ("dense", 0) -> "dense"; ("dense", 2) -> "dense_2".
inline std::string numbered_name(const std::string& base, std::int64_t n) {
  return n == 0 ? base : base + "_" + std::to_string(n);
}

// "dense_2" -> ("dense", 2); "dense" -> ("dense", 0). A suffix with a leading zero or too many
// digits is part of the base ("conv_07" -> ("conv_07", 0)).
inline std::pair<std::string, std::int64_t> split_numbered_name(const std::string& name) {
  const auto underscore = name.rfind('_');
  if (underscore == std::string::npos || underscore == 0) return {name, 0};
  const std::string digits = name.substr(underscore + 1);
  if (digits.empty() || digits.size() > 18 || digits[0] == '0' ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    return {name, 0};
  return {name.substr(0, underscore), std::stoll(digits)};
}

}  // namespace tape::nn
