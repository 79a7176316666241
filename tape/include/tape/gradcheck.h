// gradcheck / gradgradcheck: compare the tape's gradients with central finite differences in
// float64, for users adding their own ops as much as for tape's tests.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tape/tensor.h"

namespace tape {

using TestFunction = std::function<Tensor(const std::vector<Tensor>&)>;

struct GradcheckOptions {
  double eps = 1e-6;    // finite-difference step
  double atol = 1e-6;   // pass when |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-5;
  std::uint64_t seed = 1234;  // for the random upstream vector
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0.0;
  double max_rel_error = 0.0;
  // Where the worst element sits, and its two values.
  std::size_t worst_input = 0;
  std::int64_t worst_element = -1;
  double worst_analytic = 0.0;
  double worst_numeric = 0.0;
  std::string report;  // readable summary
  explicit operator bool() const { return ok; }
};

// Checks d<f(inputs), v>/d inputs (v random, fixed by seed) against central differences.
// Inputs must be float64.
GradcheckResult gradcheck(const TestFunction& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});
// Checks the gradient of the gradient: gradcheck of (inputs, v) -> d<f(inputs), v>/d inputs,
// computed with nested tapes.
GradcheckResult gradgradcheck(const TestFunction& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {});

}  // namespace tape
