// Typed exceptions thrown by tape. Messages read "<op>: <what is wrong>; <arg>=<shape>, ...".
#pragma once
#include <stdexcept>
#include <string>

namespace tape {

// Base of every error tape throws; library code never aborts or exits.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// Shapes that do not fit together (broadcasting, matmul, conv, reshape, ...).
class ShapeError : public Error {
 public:
  using Error::Error;
};
// Mixed or unsupported dtypes.
class DTypeError : public Error {
 public:
  using Error::Error;
};
// A bad argument that is neither a shape nor a dtype (negative stride, axis out of range, ...).
class ValueError : public Error {
 public:
  using Error::Error;
};
// GradientTape misuse: second gradient() on a non-persistent tape, an op without a gradient, ...
class TapeError : public Error {
 public:
  using Error::Error;
};
// A file that cannot be read or written, or whose contents are damaged.
class IOError : public Error {
 public:
  using Error::Error;
};
// A NaN or Inf found by check_numerics (anomaly mode): the message names the op that made it.
class NumericsError : public Error {
 public:
  using Error::Error;
};
// A broken invariant inside tape: a bug to report.
class InternalError : public Error {
 public:
  using Error::Error;
};

}  // namespace tape
