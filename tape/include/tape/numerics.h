// Anomaly mode, as torch.autograd.detect_anomaly and tf.debugging.check_numerics have it: while
// it is on, the outputs of every op recorded on a tape are checked for NaN and Inf as the op runs,
// and so is every gradient a backward step produces during gradient(). The first non-finite value
// throws NumericsError naming the op (for a gradient, the forward op whose backward made it), the
// shapes of its inputs, and where the value is. Off by default: the checks read every output once
// more (docs/performance.md measures the cost).
#pragma once
#include <string>

#include "tape/tensor.h"

namespace tape {

// Process-wide switch; the scoped CheckNumerics below is the usual way to turn it on.
void set_check_numerics(bool on);
bool check_numerics();

// Turns anomaly mode on (or off) while alive, then restores what was before.
class [[nodiscard]] CheckNumerics {
 public:
  explicit CheckNumerics(bool on = true);
  ~CheckNumerics();
  CheckNumerics(const CheckNumerics&) = delete;
  CheckNumerics& operator=(const CheckNumerics&) = delete;

 private:
  bool previous_;
};

// Whether every value of a float tensor is finite (true for other dtypes and undefined tensors).
bool all_finite(const Tensor& t);
// Throws NumericsError "<what>: NaN at index i of [shape]" (or Inf, -Inf) for the first
// non-finite value of a float tensor; any other dtype or an undefined tensor passes.
void check_finite(const Tensor& t, const std::string& what);

}  // namespace tape
