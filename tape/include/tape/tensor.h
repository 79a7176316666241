// Tensor: an immutable, contiguous, row-major n-d array of float32 or float64.
// Copies alias the same storage; an undefined Tensor (!defined()) means "no gradient".
#pragma once
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "tape/dtype.h"
#include "tape/error.h"
#include "tape/random.h"
#include "tape/shape.h"

namespace tape {

namespace detail {
struct TensorImpl;
}

// Identity of a tensor value as seen by the tape (copies share it).
using TensorId = std::int64_t;

class Tensor {
 public:
  // An undefined tensor.
  Tensor() = default;
  explicit Tensor(std::shared_ptr<detail::TensorImpl> impl);

  // ---- factories ----
  static Tensor scalar(float value);
  static Tensor scalar(double value);
  static Tensor scalar(double value, DType dtype);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32);
  static Tensor ones(const Shape& shape, DType dtype = DType::f32);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32);
  static Tensor zeros_like(const Tensor& t);
  static Tensor ones_like(const Tensor& t);
  // Copies `values` (numel must match `shape`).
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape);
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape);
  static Tensor from_vector(const std::vector<float>& values);   // rank 1
  static Tensor from_vector(const std::vector<double>& values);  // rank 1
  // Copies numel(shape) elements from `data`.
  static Tensor from_data(const float* data, const Shape& shape);
  static Tensor from_data(const double* data, const Shape& shape);
  // [start, stop) in steps of `step`, rank 1.
  static Tensor arange(double start, double stop, double step = 1.0, DType dtype = DType::f32);
  // Random tensors, drawn from an explicit generator.
  static Tensor uniform(const Shape& shape, Generator& gen, double low = 0.0, double high = 1.0,
                        DType dtype = DType::f32);
  static Tensor normal(const Shape& shape, Generator& gen, double mean = 0.0, double stddev = 1.0,
                       DType dtype = DType::f32);
  // Normal redrawn outside `bound` standard deviations (bound 2: TensorFlow's truncated_normal;
  // smaller bounds: BigGAN's truncation trick). ValueError unless bound > 0.
  static Tensor truncated_normal(const Shape& shape, Generator& gen, double mean = 0.0,
                                 double stddev = 1.0, DType dtype = DType::f32, double bound = 2.0);

  // ---- properties ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  DType dtype() const;
  std::int64_t rank() const { return shape().rank(); }
  std::int64_t numel() const { return shape().numel(); }
  std::int64_t dim(std::int64_t i) const { return shape()[i]; }
  TensorId id() const;

  // Read-only element access; T must match dtype() (DTypeError otherwise).
  template <class T>
  const T* data() const {
    check_dtype(dtype_of<T>(), "data");
    return static_cast<const T*>(raw_data());
  }
  const void* raw_data() const;
  // The value of a one-element tensor, as double.
  double item() const;
  // All elements converted to T.
  template <class T>
  std::vector<T> to_vector() const;
  // Element at a multi-index, as double (slow; for tests and printing).
  double at(const std::vector<std::int64_t>& index) const;

  // Converted copy (differentiable); returns *this when the dtype already matches.
  Tensor to(DType dtype) const;
  std::string to_string() const;

  const std::shared_ptr<detail::TensorImpl>& impl() const { return impl_; }

 private:
  void check_dtype(DType expected, const char* what) const;
  std::shared_ptr<detail::TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

}  // namespace tape
