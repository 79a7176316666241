// Internal helpers shared by the op families: argument checks that throw named, shaped errors.
#pragma once
#include <cstdint>
#include <string>

#include "tape/error.h"
#include "tape/tensor.h"

namespace tape::ops_detail {

inline void require_defined(const char* op, const Tensor& x, const char* name) {
  if (!x.defined()) throw ValueError(std::string(op) + ": " + name + " is undefined");
}

inline void require_same_dtype(const char* op, const Tensor& a, const Tensor& b, const char* na = "a",
                               const char* nb = "b") {
  require_defined(op, a, na);
  require_defined(op, b, nb);
  if (a.dtype() != b.dtype()) {
    throw DTypeError(std::string(op) + ": dtypes differ (" + to_string(a.dtype()) + " vs " + to_string(b.dtype()) +
                     "); " + na + "=" + a.shape().to_string() + ", " + nb + "=" + b.shape().to_string());
  }
}

// A scalar constant of x's dtype.
inline Tensor scalar_like(double value, const Tensor& x) { return Tensor::scalar(value, x.dtype()); }

}  // namespace tape::ops_detail
