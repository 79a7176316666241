// Shape: dimensions, printing, broadcasting and axis normalization; dtype names.
#include "tape/shape.h"

#include <sstream>

#include "tape/dtype.h"
#include "tape/error.h"

namespace tape {

std::string to_string(DType dtype) { return dtype == DType::f64 ? "float64" : "float32"; }
std::size_t element_size(DType dtype) { return dtype == DType::f64 ? 8 : 4; }

Shape::Shape(std::initializer_list<std::int64_t> dims) : Shape(std::vector<std::int64_t>(dims)) {}

Shape::Shape(std::vector<std::int64_t> dims) : dims_(std::move(dims)) {
  for (auto d : dims_) {
    if (d < 0) throw ShapeError("Shape: negative dimension in " + to_string());
  }
}

std::int64_t Shape::numel() const {
  std::int64_t n = 1;
  for (auto d : dims_) n *= d;
  return n;
}

std::int64_t Shape::operator[](std::int64_t i) const {
  const std::int64_t r = rank();
  if (i < -r || i >= r) {
    throw ValueError("Shape: dimension " + std::to_string(i) + " out of range for " + to_string());
  }
  return dims_[static_cast<std::size_t>(i < 0 ? i + r : i)];
}

std::vector<std::int64_t> Shape::strides() const {
  std::vector<std::int64_t> s(dims_.size(), 1);
  for (std::int64_t i = rank() - 2; i >= 0; --i) s[i] = s[i + 1] * dims_[i + 1];
  return s;
}

std::string Shape::to_string() const {
  std::ostringstream os;
  os << '[';
  for (std::size_t i = 0; i < dims_.size(); ++i) os << (i ? ", " : "") << dims_[i];
  os << ']';
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Shape& shape) { return os << shape.to_string(); }

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const std::int64_t r = std::max(a.rank(), b.rank());
  std::vector<std::int64_t> out(static_cast<std::size_t>(r));
  for (std::int64_t i = 0; i < r; ++i) {
    const std::int64_t da = i < r - a.rank() ? 1 : a.dims()[i - (r - a.rank())];
    const std::int64_t db = i < r - b.rank() ? 1 : b.dims()[i - (r - b.rank())];
    if (da != db && da != 1 && db != 1) {
      throw ShapeError(std::string(op) + ": shapes do not broadcast; a=" + a.to_string() +
                       ", b=" + b.to_string());
    }
    out[i] = da == 1 ? db : da;
  }
  return Shape(std::move(out));
}

std::int64_t normalize_axis(std::int64_t axis, std::int64_t rank, const char* op, const std::string& shapes) {
  if (axis < -rank || axis >= rank) {
    throw ValueError(std::string(op) + ": axis " + std::to_string(axis) + " out of range for rank " +
                     std::to_string(rank) + (shapes.empty() ? "" : "; " + shapes));
  }
  return axis < 0 ? axis + rank : axis;
}

}  // namespace tape
