// Shape: the dimensions of a Tensor (rank 0 = scalar), with printing and broadcasting rules.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

namespace tape {

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims);
  explicit Shape(std::vector<std::int64_t> dims);

  std::int64_t rank() const { return static_cast<std::int64_t>(dims_.size()); }
  // Product of the dimensions (1 for a scalar).
  std::int64_t numel() const;
  // Dimension i; negative i counts from the end.
  std::int64_t operator[](std::int64_t i) const;
  std::int64_t dim(std::int64_t i) const { return (*this)[i]; }
  const std::vector<std::int64_t>& dims() const { return dims_; }
  std::vector<std::int64_t>::const_iterator begin() const { return dims_.begin(); }
  std::vector<std::int64_t>::const_iterator end() const { return dims_.end(); }
  // Row-major strides in elements.
  std::vector<std::int64_t> strides() const;

  bool operator==(const Shape& other) const = default;
  // "[8, 28, 28, 3]".
  std::string to_string() const;

 private:
  std::vector<std::int64_t> dims_;
};

std::ostream& operator<<(std::ostream& os, const Shape& shape);

// NumPy broadcasting of two shapes; throws ShapeError naming `op` when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Normalizes an axis in [-rank, rank) to [0, rank); throws ValueError naming `op` otherwise, with
// `shapes` ("x=[2, 3]") appended to the message when given.
std::int64_t normalize_axis(std::int64_t axis, std::int64_t rank, const char* op, const std::string& shapes = "");

}  // namespace tape
