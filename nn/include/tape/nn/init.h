// Weight initializers, all drawing from an explicit seeded Generator.
#pragma once
#include "tape/nn/module.h"

namespace tape::nn::init {

// Keras' default: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)).
Initializer glorot_uniform();
// N(0, sqrt(2 / fan_in)) truncated at two standard deviations, like Keras' he_normal.
Initializer he_normal();
// N(mean, stddev): the DCGAN paper's N(0, 0.02).
Initializer normal(double mean = 0.0, double stddev = 0.05);
// N(mean, stddev) redrawn outside two standard deviations.
Initializer truncated_normal(double mean = 0.0, double stddev = 0.05);
Initializer uniform(double low = -0.05, double high = 0.05);
Initializer zeros();
Initializer ones();
Initializer constant(double value);

// Keras' fan computation: rank 2 [in, out]; conv kernels [kh, kw, in, out] multiply by kh*kw.
std::pair<double, double> fans(const Shape& shape);

}  // namespace tape::nn::init
