// Weight initializers (Keras semantics), drawing from an explicit Generator.
#include "tape/nn/init.h"

#include <cmath>

namespace tape::nn::init {

std::pair<double, double> fans(const Shape& shape) {
  if (shape.rank() < 1) return {1.0, 1.0};
  if (shape.rank() == 1) return {double(shape[0]), double(shape[0])};
  if (shape.rank() == 2) return {double(shape[0]), double(shape[1])};
  double receptive = 1.0;
  for (std::int64_t i = 0; i < shape.rank() - 2; ++i) receptive *= double(shape[i]);
  return {receptive * double(shape[-2]), receptive * double(shape[-1])};
}

Initializer glorot_uniform() {
  return [](const Shape& shape, DType dtype, Generator& gen) {
    const auto [fan_in, fan_out] = fans(shape);
    const double limit = std::sqrt(6.0 / (fan_in + fan_out));
    return Tensor::uniform(shape, gen, -limit, limit, dtype);
  };
}

Initializer he_normal() {
  return [](const Shape& shape, DType dtype, Generator& gen) {
    // Keras' VarianceScaling(2, fan_in, truncated_normal): the truncation's shrinkage undone.
    const double stddev = std::sqrt(2.0 / fans(shape).first) / 0.87962566103423978;
    return Tensor::truncated_normal(shape, gen, 0.0, stddev, dtype);
  };
}

Initializer normal(double mean, double stddev) {
  return [mean, stddev](const Shape& shape, DType dtype, Generator& gen) {
    return Tensor::normal(shape, gen, mean, stddev, dtype);
  };
}

Initializer truncated_normal(double mean, double stddev) {
  return [mean, stddev](const Shape& shape, DType dtype, Generator& gen) {
    return Tensor::truncated_normal(shape, gen, mean, stddev, dtype);
  };
}

Initializer uniform(double low, double high) {
  return [low, high](const Shape& shape, DType dtype, Generator& gen) {
    return Tensor::uniform(shape, gen, low, high, dtype);
  };
}

Initializer constant(double value) {
  return [value](const Shape& shape, DType dtype, Generator&) { return Tensor::full(shape, value, dtype); };
}
Initializer zeros() { return constant(0.0); }
Initializer ones() { return constant(1.0); }

}  // namespace tape::nn::init
