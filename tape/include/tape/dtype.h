// Runtime element types of a Tensor: float32 for training, float64 for gradient checks.
#pragma once
#include <cstddef>
#include <string>

namespace tape {

enum class DType { f32, f64 };

inline constexpr DType f32 = DType::f32;
inline constexpr DType f64 = DType::f64;

// "float32" / "float64".
std::string to_string(DType dtype);
// Bytes per element.
std::size_t element_size(DType dtype);

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() { return DType::f32; }
template <>
constexpr DType dtype_of<double>() { return DType::f64; }

}  // namespace tape
