// Tensor: storage, factories (constant and random), element access, dtype conversion, printing.
#include "tape/tensor.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <new>
#include <sstream>

#include "buffer_pool.h"
#include "kernels/kernels.h"
#include "record.h"
#include "tensor_impl.h"
#include "uniform_bits.h"

namespace tape {
namespace detail {

Storage::Storage(std::size_t n) : data(pool_allocate(n)), bytes(n) {}
Storage::~Storage() { pool_release(data, bytes); }

TensorId next_tensor_id() {
  static std::atomic<TensorId> counter{1};
  return counter.fetch_add(1, std::memory_order_relaxed);
}

Tensor empty(const Shape& shape, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->storage = std::make_shared<Storage>(static_cast<std::size_t>(shape.numel()) * element_size(dtype));
  impl->id = next_tensor_id();
  return Tensor(std::move(impl));
}

Tensor alias(const Tensor& x, const Shape& shape) {
  auto impl = std::make_shared<TensorImpl>(*x.impl());
  impl->shape = shape;
  impl->id = next_tensor_id();
  return Tensor(std::move(impl));
}

void* mutable_raw(const Tensor& t) { return t.impl()->storage->data; }

}  // namespace detail

namespace {

Tensor filled(const Shape& shape, double value, DType dtype) {
  Tensor t = detail::empty(shape, dtype);
  detail::dispatch(dtype, [&]<class T>() {
    T* p = detail::mutable_data<T>(t);
    std::fill(p, p + shape.numel(), static_cast<T>(value));
  });
  return t;
}

template <class Src>
Tensor copied(const Src* data, const Shape& shape) {
  Tensor t = detail::empty(shape, dtype_of<Src>());
  if (shape.numel() > 0) std::memcpy(detail::mutable_raw(t), data, static_cast<std::size_t>(shape.numel()) * sizeof(Src));
  return t;
}

template <class Src>
Tensor from_values(const std::vector<Src>& values, const Shape& shape) {
  if (static_cast<std::int64_t>(values.size()) != shape.numel()) {
    throw ShapeError("from_vector: " + std::to_string(values.size()) + " values do not fill shape " +
                     shape.to_string());
  }
  return copied(values.data(), shape);
}

template <class Draw>
Tensor drawn(const Shape& shape, DType dtype, Draw draw) {
  Tensor t = detail::empty(shape, dtype);
  detail::dispatch(dtype, [&]<class T>() {
    T* p = detail::mutable_data<T>(t);
    for (std::int64_t i = 0; i < shape.numel(); ++i) p[i] = static_cast<T>(draw());
  });
  return t;
}

}  // namespace

Tensor::Tensor(std::shared_ptr<detail::TensorImpl> impl) : impl_(std::move(impl)) {}

Tensor Tensor::scalar(float value) { return filled({}, value, DType::f32); }
Tensor Tensor::scalar(double value) { return filled({}, value, DType::f64); }
Tensor Tensor::scalar(double value, DType dtype) { return filled({}, value, dtype); }
Tensor Tensor::zeros(const Shape& shape, DType dtype) { return filled(shape, 0.0, dtype); }
Tensor Tensor::ones(const Shape& shape, DType dtype) { return filled(shape, 1.0, dtype); }
Tensor Tensor::full(const Shape& shape, double value, DType dtype) { return filled(shape, value, dtype); }
Tensor Tensor::zeros_like(const Tensor& t) { return filled(t.shape(), 0.0, t.dtype()); }
Tensor Tensor::ones_like(const Tensor& t) { return filled(t.shape(), 1.0, t.dtype()); }
Tensor Tensor::from_vector(const std::vector<float>& v, const Shape& shape) { return from_values(v, shape); }
Tensor Tensor::from_vector(const std::vector<double>& v, const Shape& shape) { return from_values(v, shape); }
Tensor Tensor::from_vector(const std::vector<float>& v) {
  return from_values(v, Shape{static_cast<std::int64_t>(v.size())});
}
Tensor Tensor::from_vector(const std::vector<double>& v) {
  return from_values(v, Shape{static_cast<std::int64_t>(v.size())});
}
Tensor Tensor::from_data(const float* data, const Shape& shape) { return copied(data, shape); }
Tensor Tensor::from_data(const double* data, const Shape& shape) { return copied(data, shape); }

Tensor Tensor::arange(double start, double stop, double step, DType dtype) {
  if (step == 0.0) throw ValueError("arange: step must not be 0");
  const double count = std::ceil((stop - start) / step);
  const std::int64_t n = count > 0 ? static_cast<std::int64_t>(count) : 0;
  std::int64_t i = 0;
  return drawn(Shape{n}, dtype, [&] { return start + step * static_cast<double>(i++); });
}

namespace {

// p[i] = low + (high - low) * u_i for the generator's next n uniform() draws.
template <class T>
void fill_uniform(T* p, std::int64_t n, Generator& gen, double low, double high) {
  const double span = high - low;
  detail::for_each_uniform_bits(n, gen, [&](std::int64_t i, std::uint64_t bits) {
    p[i] = static_cast<T>(low + span * detail::unit53(bits));
  });
}

}  // namespace

Tensor Tensor::uniform(const Shape& shape, Generator& gen, double low, double high, DType dtype) {
  if (!(high >= low)) throw ValueError("uniform: high < low");
  Tensor t = detail::empty(shape, dtype);
  detail::dispatch(dtype, [&]<class T>() { fill_uniform(detail::mutable_data<T>(t), shape.numel(), gen, low, high); });
  return t;
}

Tensor Tensor::normal(const Shape& shape, Generator& gen, double mean, double stddev, DType dtype) {
  return drawn(shape, dtype, [&] { return mean + stddev * gen.normal(); });
}

Tensor Tensor::truncated_normal(const Shape& shape, Generator& gen, double mean, double stddev, DType dtype,
                                double bound) {
  if (!(bound > 0.0)) throw ValueError("truncated_normal: bound must be > 0, got " + std::to_string(bound));
  return drawn(shape, dtype, [&] {
    double z = gen.normal();
    while (std::abs(z) > bound) z = gen.normal();
    return mean + stddev * z;
  });
}

const Shape& Tensor::shape() const {
  if (!impl_) throw ValueError("Tensor: the tensor is undefined (no value)");
  return impl_->shape;
}
DType Tensor::dtype() const {
  if (!impl_) throw ValueError("Tensor: the tensor is undefined (no value)");
  return impl_->dtype;
}
TensorId Tensor::id() const { return impl_ ? impl_->id : 0; }
const void* Tensor::raw_data() const {
  if (!impl_) throw ValueError("Tensor: the tensor is undefined (no value)");
  return impl_->storage->data;
}

void Tensor::check_dtype(DType expected, const char* what) const {
  if (dtype() != expected) {
    throw DTypeError(std::string("Tensor::") + what + ": tensor is " + tape::to_string(dtype()) + ", asked for " +
                     tape::to_string(expected) + "; shape=" + shape().to_string());
  }
}

double Tensor::item() const {
  if (numel() != 1) throw ShapeError("Tensor::item: tensor has " + std::to_string(numel()) +
                                     " elements, not 1; shape=" + shape().to_string());
  return detail::dispatch(dtype(), [&]<class T>() { return static_cast<double>(data<T>()[0]); });
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  std::vector<T> out(static_cast<std::size_t>(numel()));
  detail::dispatch(dtype(), [&]<class S>() {
    const S* p = data<S>();
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<T>(p[i]);
  });
  return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;

double Tensor::at(const std::vector<std::int64_t>& index) const {
  if (static_cast<std::int64_t>(index.size()) != rank()) {
    throw ShapeError("Tensor::at: index of rank " + std::to_string(index.size()) + " for shape " +
                     shape().to_string());
  }
  const auto strides = shape().strides();
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < index.size(); ++i) {
    if (index[i] < 0 || index[i] >= shape().dims()[i]) {
      throw ValueError("Tensor::at: index out of range for shape " + shape().to_string());
    }
    offset += index[i] * strides[i];
  }
  return detail::dispatch(dtype(), [&]<class T>() { return static_cast<double>(data<T>()[offset]); });
}

// x[...] -> [...] in another dtype; gradient converted back.
Tensor Tensor::to(DType target) const {
  if (dtype() == target) return *this;
  Tensor out = detail::empty(shape(), target);
  detail::dispatch(dtype(), [&]<class S>() {
    detail::dispatch(target, [&]<class T>() {
      const S* src = data<S>();
      T* dst = detail::mutable_data<T>(out);
      for (std::int64_t i = 0; i < numel(); ++i) dst[i] = static_cast<T>(src[i]);
    });
  });
  if (detail::should_record(*this)) {
    const DType source = dtype();
    detail::record("cast", {*this}, out, [source](const Tensor& g, const std::vector<bool>&) {
      return std::vector<Tensor>{g.to(source)};
    });
  }
  return out;
}

namespace {

void print_values(std::ostream& os, const Tensor& t, std::int64_t axis, std::int64_t offset) {
  const auto& dims = t.shape().dims();
  const auto strides = t.shape().strides();
  constexpr std::int64_t kEdge = 3;
  const std::int64_t n = dims[axis];
  os << '[';
  for (std::int64_t i = 0; i < n; ++i) {
    if (i) os << ", ";
    if (n > 2 * kEdge + 1 && i == kEdge) {
      os << "...";
      i = n - kEdge - 1;
      continue;
    }
    if (axis + 1 == t.rank()) {
      detail::dispatch(t.dtype(), [&]<class T>() { os << t.data<T>()[offset + i * strides[axis]]; });
    } else {
      print_values(os, t, axis + 1, offset + i * strides[axis]);
    }
  }
  os << ']';
}

}  // namespace

std::string Tensor::to_string() const {
  std::ostringstream os;
  os << *this;
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "Tensor(undefined)";
  os << "Tensor(shape=" << t.shape() << ", dtype=" << to_string(t.dtype()) << ", ";
  std::ostringstream values;
  values << std::setprecision(t.dtype() == DType::f64 ? 10 : 6);
  if (t.rank() == 0) {
    values << t.item();
  } else if (t.numel() == 0) {
    values << "[]";
  } else {
    print_values(values, t, 0, 0);
  }
  return os << values.str() << ')';
}

}  // namespace tape
