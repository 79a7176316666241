// Test helpers for tape::nn models.
#pragma once
#include <string>
#include <vector>

#include "tape/nn/nn.h"

namespace test {

// The hierarchical names of a model's variables, in order (its checkpoint keys).
inline std::vector<std::string> variable_names(const tape::nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& nv : m.named_variables()) out.push_back(nv.name);
  return out;
}

}  // namespace test
