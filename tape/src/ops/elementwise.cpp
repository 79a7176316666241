// Elementwise ops (binary with NumPy broadcasting, unary, comparisons) and their gradients.
#include <cmath>

#include "kernels/kernels.h"
#include "ops/common.h"
#include "record.h"
#include "tape/gradient_tape.h"
#include "tape/ops.h"

namespace tape {

using ops_detail::require_defined;
using ops_detail::require_same_dtype;
using ops_detail::scalar_like;

namespace {

using Needs = std::vector<bool>;
using Grads = std::vector<Tensor>;

template <class F>
Tensor binary_forward(const char* op, const Tensor& a, const Tensor& b, F f) {
  require_same_dtype(op, a, b);
  return kernels::map_binary(a, b, broadcast_shapes(a.shape(), b.shape(), op), f);
}

template <class F>
Tensor unary_forward(const char* op, const Tensor& x, F f) {
  require_defined(op, x, "x");
  return kernels::map_unary(x, f);
}

// A 0/1 constant of the broadcast shape: cmp(a, b).
template <class F>
Tensor compare(const char* op, const Tensor& a, const Tensor& b, F cmp) {
  return binary_forward(op, a, b, [cmp](const auto& x, const auto& y) {
    using T = typename std::decay_t<decltype(x)>::Scalar;
    return cmp(x, y).template cast<T>();
  });
}

Tensor greater_equal(const Tensor& a, const Tensor& b) {
  const detail::OpScope op("greater_equal");
  return compare(op.name(), a, b, [](const auto& x, const auto& y) { return x >= y; });
}

// Records a single-input op whose gradient local(g, saved) is built from recorded ops; `saved` is
// the input (from_input) or the output (from_output), so each op keeps only what it needs.
template <class Local>
void from_input(const detail::OpScope& op, const Tensor& x, const Tensor& y, Local local) {
  if (!detail::should_record(x)) return;
  op.record({x}, y, [x, local](const Tensor& g, const Needs&) { return Grads{local(g, x)}; });
}
template <class Local>
void from_output(const detail::OpScope& op, const Tensor& x, const Tensor& y, Local local) {
  if (!detail::should_record(x)) return;
  op.record({x}, y, [y, local](const Tensor& g, const Needs&) { return Grads{local(g, y)}; });
}

}  // namespace

// ---------------------------------------------------------------- binary
// a[...] + b[...] -> broadcast
Tensor add(const Tensor& a, const Tensor& b) {
  const detail::OpScope op("add");
  Tensor y = binary_forward(op.name(), a, b, [](const auto& x, const auto& z) { return x + z; });
  if (detail::should_record(a, b)) {
    op.record({a, b}, y, [sa = a.shape(), sb = b.shape()](const Tensor& g, const Needs& n) {
      return Grads{n[0] ? sum_to(g, sa) : Tensor(), n[1] ? sum_to(g, sb) : Tensor()};
    });
  }
  return y;
}

// a[...] - b[...] -> broadcast
Tensor sub(const Tensor& a, const Tensor& b) {
  const detail::OpScope op("sub");
  Tensor y = binary_forward(op.name(), a, b, [](const auto& x, const auto& z) { return x - z; });
  if (detail::should_record(a, b)) {
    op.record({a, b}, y, [sa = a.shape(), sb = b.shape()](const Tensor& g, const Needs& n) {
      return Grads{n[0] ? sum_to(g, sa) : Tensor(), n[1] ? sum_to(neg(g), sb) : Tensor()};
    });
  }
  return y;
}

// a[...] * b[...] -> broadcast
Tensor mul(const Tensor& a, const Tensor& b) {
  const detail::OpScope op("mul");
  Tensor y = binary_forward(op.name(), a, b, [](const auto& x, const auto& z) { return x * z; });
  if (detail::should_record(a, b)) {
    op.record({a, b}, y, [a, b](const Tensor& g, const Needs& n) {
      return Grads{n[0] ? sum_to(mul(g, b), a.shape()) : Tensor(), n[1] ? sum_to(mul(g, a), b.shape()) : Tensor()};
    });
  }
  return y;
}

// a[...] / b[...] -> broadcast
Tensor div(const Tensor& a, const Tensor& b) {
  const detail::OpScope op("div");
  Tensor y = binary_forward(op.name(), a, b, [](const auto& x, const auto& z) { return x / z; });
  if (detail::should_record(a, b)) {
    op.record({a, b}, y, [a, b](const Tensor& g, const Needs& n) {
      Tensor ga = n[0] ? sum_to(div(g, b), a.shape()) : Tensor();
      Tensor gb = n[1] ? sum_to(neg(div(mul(g, a), mul(b, b))), b.shape()) : Tensor();
      return Grads{ga, gb};
    });
  }
  return y;
}

namespace {

// maximum/minimum: the gradient goes to a where `a_wins` (a constant mask), else to b.
Tensor select_binary(const char* name, const Tensor& a, const Tensor& b, bool is_max) {
  const detail::OpScope op(name);
  Tensor y = is_max ? binary_forward(op.name(), a, b, [](const auto& x, const auto& z) { return x.max(z); })
                    : binary_forward(op.name(), a, b, [](const auto& x, const auto& z) { return x.min(z); });
  if (detail::should_record(a, b)) {
    op.record({a, b}, y, [a, b, is_max](const Tensor& g, const Needs& n) {
      Tensor a_wins = is_max ? greater_equal(a, b) : greater_equal(b, a);
      Tensor ga = n[0] ? sum_to(mul(g, a_wins), a.shape()) : Tensor();
      Tensor gb = n[1] ? sum_to(mul(g, sub(scalar_like(1.0, a_wins), a_wins)), b.shape()) : Tensor();
      return Grads{ga, gb};
    });
  }
  return y;
}

}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return select_binary("maximum", a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return select_binary("minimum", a, b, false); }

Tensor greater(const Tensor& a, const Tensor& b) {
  const detail::OpScope op("greater");
  return compare(op.name(), a, b, [](const auto& x, const auto& y) { return x > y; });
}
Tensor equal(const Tensor& a, const Tensor& b) {
  const detail::OpScope op("equal");
  return compare(op.name(), a, b, [](const auto& x, const auto& y) { return x == y; });
}

// cond[...], a[...], b[...] -> broadcast of all three
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  const detail::OpScope op("where");
  require_same_dtype(op.name(), a, b);
  require_same_dtype(op.name(), cond, a, "cond", "a");
  Shape shape;
  try {
    shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), op.name()), b.shape(), op.name());
  } catch (const ShapeError&) {  // name all three operands
    throw ShapeError("where: shapes do not broadcast; cond=" + cond.shape().to_string() + ", a=" +
                     a.shape().to_string() + ", b=" + b.shape().to_string());
  }
  Tensor c, ab, bb;
  {
    NoRecord constants;
    c = broadcast_to(cond, shape);
    ab = broadcast_to(a, shape);
    bb = broadcast_to(b, shape);
  }
  Tensor y = detail::empty(shape, a.dtype());
  detail::dispatch(a.dtype(), [&]<class T>() {
    const T* pc = c.data<T>();
    const T* pa = ab.data<T>();
    const T* pb = bb.data<T>();
    T* py = detail::mutable_data<T>(y);
    for (std::int64_t i = 0; i < shape.numel(); ++i) py[i] = pc[i] != T(0) ? pa[i] : pb[i];
  });
  if (detail::should_record(a, b)) {
    op.record({a, b}, y, [cond, a, b](const Tensor& g, const Needs& n) {
      Tensor zero = scalar_like(0.0, g);
      Tensor ga = n[0] ? sum_to(where(cond, g, zero), a.shape()) : Tensor();
      Tensor gb = n[1] ? sum_to(where(cond, zero, g), b.shape()) : Tensor();
      return Grads{ga, gb};
    });
  }
  return y;
}

// ---------------------------------------------------------------- unary: x[...] -> [...]
Tensor neg(const Tensor& x) {
  const detail::OpScope op("neg");
  Tensor y = unary_forward(op.name(), x, [](const auto& v) { return -v; });
  if (detail::should_record(x)) {
    op.record({x}, y, [](const Tensor& g, const Needs&) { return Grads{neg(g)}; });
  }
  return y;
}

Tensor pow(const Tensor& x, double p) {
  const detail::OpScope op("pow");
  Tensor y = unary_forward(op.name(), x, [p](const auto& v) {
    using T = typename std::decay_t<decltype(v)>::Scalar;
    return v.pow(static_cast<T>(p));
  });
  from_input(op, x, y, [p](const Tensor& g, const Tensor& x0) {
    return p == 1.0 ? g : mul(g, mul(scalar_like(p, x0), pow(x0, p - 1.0)));
  });
  return y;
}

Tensor square(const Tensor& x) {
  const detail::OpScope op("square");
  Tensor y = unary_forward(op.name(), x, [](const auto& v) { return v.square(); });
  from_input(op, x, y, [](const Tensor& g, const Tensor& x0) {
    return mul(g, mul(x0, scalar_like(2.0, x0)));
  });
  return y;
}

Tensor sqrt(const Tensor& x) {
  const detail::OpScope op("sqrt");
  Tensor y = unary_forward(op.name(), x, [](const auto& v) { return v.sqrt(); });
  from_output(op, x, y, [](const Tensor& g, const Tensor& y0) {
    return div(mul(g, scalar_like(0.5, y0)), y0);
  });
  return y;
}

Tensor rsqrt(const Tensor& x) {
  const detail::OpScope op("rsqrt");
  Tensor y = unary_forward(op.name(), x, [](const auto& v) { return v.rsqrt(); });
  from_output(op, x, y, [](const Tensor& g, const Tensor& y0) {
    return mul(g, mul(scalar_like(-0.5, y0), mul(y0, square(y0))));
  });
  return y;
}

Tensor exp(const Tensor& x) {
  const detail::OpScope op("exp");
  Tensor y = unary_forward(op.name(), x, [](const auto& v) { return v.exp(); });
  from_output(op, x, y, [](const Tensor& g, const Tensor& y0) { return mul(g, y0); });
  return y;
}

Tensor log(const Tensor& x) {
  const detail::OpScope op("log");
  Tensor y = unary_forward(op.name(), x, [](const auto& v) { return v.log(); });
  from_input(op, x, y, [](const Tensor& g, const Tensor& x0) { return div(g, x0); });
  return y;
}

Tensor log1p(const Tensor& x) {
  const detail::OpScope op("log1p");
  Tensor y = unary_forward(op.name(), x, [](const auto& v) { return v.log1p(); });
  from_input(op, x, y, [](const Tensor& g, const Tensor& x0) {
    return div(g, add(x0, scalar_like(1.0, x0)));
  });
  return y;
}

Tensor abs(const Tensor& x) {
  const detail::OpScope op("abs");
  Tensor y = unary_forward(op.name(), x, [](const auto& v) { return v.abs(); });
  from_input(op, x, y, [](const Tensor& g, const Tensor& x0) {
    return mul(g, kernels::map_unary(x0, [](const auto& v) { return v.sign(); }));
  });
  return y;
}

Tensor clip(const Tensor& x, double low, double high) {
  const detail::OpScope op("clip");
  if (!(low <= high)) {
    throw ValueError("clip: low > high; low=" + std::to_string(low) + ", high=" + std::to_string(high));
  }
  Tensor y = unary_forward(op.name(), x, [low, high](const auto& v) {
    using T = typename std::decay_t<decltype(v)>::Scalar;
    return v.max(static_cast<T>(low)).min(static_cast<T>(high));
  });
  from_input(op, x, y, [low, high](const Tensor& g, const Tensor& x0) {
    return mul(g, kernels::map_unary(x0, [low, high](const auto& v) {
                 using T = typename std::decay_t<decltype(v)>::Scalar;
                 return ((v >= static_cast<T>(low)) && (v <= static_cast<T>(high))).template cast<T>();
               }));
  });
  return y;
}

Tensor tanh(const Tensor& x) {
  const detail::OpScope op("tanh");
  Tensor y = unary_forward(op.name(), x, [](const auto& v) { return v.tanh(); });
  from_output(op, x, y, [](const Tensor& g, const Tensor& y0) {
    return mul(g, sub(scalar_like(1.0, y0), square(y0)));
  });
  return y;
}

Tensor sigmoid(const Tensor& x) {
  const detail::OpScope op("sigmoid");
  Tensor y = unary_forward(op.name(), x, [](const auto& v) {
    using T = typename std::decay_t<decltype(v)>::Scalar;
    return T(1) / (T(1) + (-v).exp());
  });
  from_output(op, x, y, [](const Tensor& g, const Tensor& y0) {
    return mul(g, mul(y0, sub(scalar_like(1.0, y0), y0)));
  });
  return y;
}

namespace {

// g[...] * (v > 0 ? 1 : alpha) -> [...]: LeakyReLU's backward in one pass. Linear in g, so its
// own gradient is itself on the incoming one; v (piecewise constant in it) gets none.
Tensor leaky_relu_backward(const Tensor& g, const Tensor& v, double alpha) {
  const detail::OpScope op("leaky_relu_backward");
  Tensor out = kernels::leaky_relu_scale(g, v, alpha);
  if (detail::should_record(g)) {
    op.record({g}, out, [v, alpha](const Tensor& gg, const Needs&) { return Grads{leaky_relu_backward(gg, v, alpha)}; });
  }
  return out;
}

}  // namespace

Tensor relu(const Tensor& x) {
  const detail::OpScope op("relu");
  Tensor y = unary_forward(op.name(), x, [](const auto& v) {
    using T = typename std::decay_t<decltype(v)>::Scalar;
    return v.max(T(0));
  });
  // y > 0 exactly where x > 0: saving y (which the next layer usually keeps anyway) frees x. The
  // backward is LeakyReLU's with alpha 0.
  from_output(op, x, y, [](const Tensor& g, const Tensor& y0) { return leaky_relu_backward(g, y0, 0.0); });
  return y;
}

Tensor leaky_relu(const Tensor& x, double alpha) {
  const detail::OpScope op("leaky_relu");
  require_defined(op.name(), x, "x");
  Tensor y = kernels::leaky_relu_forward(x, alpha);
  const auto local = [alpha](const Tensor& g, const Tensor& saved) { return leaky_relu_backward(g, saved, alpha); };
  // With alpha >= 0, y > 0 exactly where x > 0: saving y (which the next layer usually keeps
  // anyway) frees x.
  if (alpha >= 0.0) {
    from_output(op, x, y, local);
  } else {
    from_input(op, x, y, local);
  }
  return y;
}

// log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): finite for any x.
Tensor softplus(const Tensor& x) {
  const detail::OpScope op("softplus");
  Tensor y = unary_forward(op.name(), x, [](const auto& v) {
    using T = typename std::decay_t<decltype(v)>::Scalar;
    return v.max(T(0)) + (-v.abs()).exp().log1p();
  });
  from_input(op, x, y, [](const Tensor& g, const Tensor& x0) { return mul(g, sigmoid(x0)); });
  return y;
}

// ---------------------------------------------------------------- operators
Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, double b) { return add(a, scalar_like(b, a)); }
Tensor operator+(double a, const Tensor& b) { return add(scalar_like(a, b), b); }
Tensor operator-(const Tensor& a, double b) { return sub(a, scalar_like(b, a)); }
Tensor operator-(double a, const Tensor& b) { return sub(scalar_like(a, b), b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, scalar_like(b, a)); }
Tensor operator*(double a, const Tensor& b) { return mul(scalar_like(a, b), b); }
Tensor operator/(const Tensor& a, double b) { return div(a, scalar_like(b, a)); }
Tensor operator/(double a, const Tensor& b) { return div(scalar_like(a, b), b); }

}  // namespace tape
