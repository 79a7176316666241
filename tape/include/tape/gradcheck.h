// gradcheck / gradgradcheck: compare the tape's gradients with central finite differences in
// float64, for users adding their own ops as much as for tape's tests.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tape/tensor.h"
#include "tape/variable.h"

namespace tape {

using TestFunction = std::function<Tensor(const std::vector<Tensor>&)>;
// A computation that reads Variables (a layer's weights, say) and returns a tensor.
using VariableFunction = std::function<Tensor()>;

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

// The same with respect to float64 Variables that f reads (e.g. a layer's input held in a
// Variable and its weights). Values are perturbed in place and restored afterwards.
GradcheckResult gradcheck(const VariableFunction& f, const std::vector<Variable>& variables,
                          const GradcheckOptions& options = {});
GradcheckResult gradgradcheck(const VariableFunction& f, const std::vector<Variable>& variables,
                              const GradcheckOptions& options = {});

}  // namespace tape
