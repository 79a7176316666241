// The convolution trio in NHWC with HWIO weights: conv2d, conv_transpose2d, conv2d_weight_grad.
// Padding is resolved to explicit pads once at the public boundary; each op's gradient is
// expressed through the other two, so convolution is differentiable to any order.
#include <optional>

#include "kernels/kernels.h"
#include "ops/common.h"
#include "record.h"
#include "tape/ops.h"

namespace tape {

Padding Padding::from_string(const std::string& name) {
  if (name == "valid" || name == "VALID") return valid();
  if (name == "same" || name == "SAME") return same();
  throw ValueError("Padding: unknown padding '" + name + "' (use \"valid\", \"same\" or explicit pads)");
}

Padding::Padding(const char* name) : Padding(from_string(name)) {}
Padding::Padding(const std::string& name) : Padding(from_string(name)) {}

std::string Padding::to_string() const {
  switch (mode) {
    case PaddingMode::valid: return "valid";
    case PaddingMode::same: return "same";
    default:
      return "[" + std::to_string(pads[0]) + ", " + std::to_string(pads[1]) + ", " + std::to_string(pads[2]) + ", " +
             std::to_string(pads[3]) + "]";
  }
}

ConvGeometry conv_geometry(std::int64_t in, std::int64_t kernel, std::int64_t stride, const Padding& padding,
                           int axis) {
  ConvGeometry g;
  if (padding.mode == PaddingMode::same) {
    g.out = (in + stride - 1) / stride;
    const std::int64_t total = std::max<std::int64_t>((g.out - 1) * stride + kernel - in, 0);
    g.pad_before = total / 2;
    g.pad_after = total - g.pad_before;
    return g;
  }
  if (padding.mode == PaddingMode::explicit_) {
    g.pad_before = padding.pads[2 * axis];
    g.pad_after = padding.pads[2 * axis + 1];
  }
  const std::int64_t span = in + g.pad_before + g.pad_after;
  g.out = span >= kernel ? (span - kernel) / stride + 1 : 0;
  return g;
}

namespace {

using Needs = std::vector<bool>;
using Grads = std::vector<Tensor>;

// The trio's names, for their scopes (profiling, recording) and their argument checks.
constexpr const char* kConv2d = "conv2d";
constexpr const char* kConvTranspose2d = "conv_transpose2d";
constexpr const char* kWeightGrad = "conv2d_weight_grad";

// Stride and explicit pads, resolved once.
struct Spec {
  std::int64_t sh, sw, pt, pb, pl, pr;
};

std::string params_text(const std::array<std::int64_t, 2>& stride, const Padding& padding) {
  const std::string s = stride[0] == stride[1] ? std::to_string(stride[0])
                                               : "[" + std::to_string(stride[0]) + ", " + std::to_string(stride[1]) + "]";
  return "stride=" + s + ", padding=" + padding.to_string();
}

void check_params(const char* op, const std::array<std::int64_t, 2>& stride, const Padding& padding,
                  const std::string& shapes) {
  if (stride[0] < 1 || stride[1] < 1) {
    throw ValueError(std::string(op) + ": strides must be >= 1; " + shapes + ", " + params_text(stride, padding));
  }
  for (auto p : padding.pads) {
    if (padding.mode == PaddingMode::explicit_ && p < 0) {
      throw ValueError(std::string(op) + ": padding must be >= 0; " + shapes + ", " + params_text(stride, padding));
    }
  }
}

// Resolves geometry for an input of size h x w; throws when the output would be empty.
Spec resolve(const char* op, std::int64_t h, std::int64_t w, std::int64_t kh, std::int64_t kw,
             const std::array<std::int64_t, 2>& stride, const Padding& padding, const std::string& shapes,
             std::int64_t& ho, std::int64_t& wo) {
  const ConvGeometry gh = conv_geometry(h, kh, stride[0], padding, 0);
  const ConvGeometry gw = conv_geometry(w, kw, stride[1], padding, 1);
  if (gh.out < 1 || gw.out < 1) {
    throw ShapeError(std::string(op) + ": the kernel does not fit the padded input; " + shapes + ", " +
                     params_text(stride, padding));
  }
  ho = gh.out;
  wo = gw.out;
  return {stride[0], stride[1], gh.pad_before, gh.pad_after, gw.pad_before, gw.pad_after};
}

kernels::ConvShape conv_shape(const Shape& x, const Shape& w, std::int64_t ho, std::int64_t wo, const Spec& s) {
  return {x[0], x[1], x[2], x[3], w[0], w[1], w[3], ho, wo, s.sh, s.sw, s.pt, s.pl};
}

Tensor conv2d_core(const Tensor& x, const Tensor& w, const Spec& s, const Tensor& bias = Tensor());
Tensor conv_transpose_core(const Tensor& u, const Tensor& w, const Spec& s, std::int64_t h, std::int64_t wd,
                           const Tensor& bias = Tensor());
Tensor weight_grad_core(const Tensor& x, const Tensor& u, const Spec& s, std::int64_t kh, std::int64_t kw);

std::int64_t out_size(std::int64_t in, std::int64_t k, std::int64_t stride, std::int64_t before, std::int64_t after) {
  return (in + before + after - k) / stride + 1;
}

// The op's inputs: its two tensors, and the bias when there is one.
std::vector<Tensor> with_bias(const Tensor& a, const Tensor& b, const Tensor& bias) {
  return bias.defined() ? std::vector<Tensor>{a, b, bias} : std::vector<Tensor>{a, b};
}

// The bias's shape, kept by the backward (not the bias itself), when there is one.
std::optional<Shape> shape_of(const Tensor& bias) {
  return bias.defined() ? std::optional<Shape>(bias.shape()) : std::nullopt;
}

// The gradients of a convolution (two inputs) and, when it has one, its bias[C]: g summed over
// all but the channel axis, as an add's backward sums it.
Grads conv_grads(Tensor ga, Tensor gb, const Tensor& g, const std::optional<Shape>& bias, const Needs& n) {
  Grads grads{std::move(ga), std::move(gb)};
  if (bias) grads.push_back(n[2] ? sum_to(g, *bias) : Tensor());
  return grads;
}

// The bias's data, or null without one.
template <class T>
const T* bias_data(const Tensor& bias) {
  return bias.defined() ? bias.data<T>() : nullptr;
}

// x[N, H, W, Ci] * w[kh, kw, Ci, Co] (+ bias[Co]) -> y[N, Ho, Wo, Co]
Tensor conv2d_core(const Tensor& x, const Tensor& w, const Spec& s, const Tensor& bias) {
  const detail::OpScope op(kConv2d);
  const std::int64_t ho = out_size(x.dim(1), w.dim(0), s.sh, s.pt, s.pb);
  const std::int64_t wo = out_size(x.dim(2), w.dim(1), s.sw, s.pl, s.pr);
  Tensor y = detail::empty({x.dim(0), ho, wo, w.dim(3)}, x.dtype());
  const auto cs = conv_shape(x.shape(), w.shape(), ho, wo, s);
  detail::dispatch(x.dtype(), [&]<class T>() {
    kernels::conv2d_forward(cs, x.data<T>(), w.data<T>(), detail::mutable_data<T>(y), kernels::ConvPath::automatic,
                            bias_data<T>(bias));
  });
  const std::vector<Tensor> inputs = with_bias(x, w, bias);
  if (detail::should_record(inputs)) {
    op.record(inputs, y, [x, w, s, bias = shape_of(bias)](const Tensor& g, const Needs& n) {
      Tensor gx = n[0] ? conv_transpose_core(g, w, s, x.dim(1), x.dim(2)) : Tensor();
      Tensor gw = n[1] ? weight_grad_core(x, g, s, w.dim(0), w.dim(1)) : Tensor();
      return conv_grads(std::move(gx), std::move(gw), g, bias, n);
    });
  }
  return y;
}

// u[N, Ho, Wo, Co], w[kh, kw, Ci, Co] (+ bias[Ci]) -> z[N, H, W, Ci]
Tensor conv_transpose_core(const Tensor& u, const Tensor& w, const Spec& s, std::int64_t h, std::int64_t wd,
                           const Tensor& bias) {
  const detail::OpScope op(kConvTranspose2d);
  Tensor z = detail::empty({u.dim(0), h, wd, w.dim(2)}, u.dtype());
  const auto cs = conv_shape(z.shape(), w.shape(), u.dim(1), u.dim(2), s);
  detail::dispatch(u.dtype(), [&]<class T>() {
    kernels::conv2d_transpose(cs, u.data<T>(), w.data<T>(), detail::mutable_data<T>(z), kernels::ConvPath::automatic,
                              bias_data<T>(bias));
  });
  const std::vector<Tensor> inputs = with_bias(u, w, bias);
  if (detail::should_record(inputs)) {
    op.record(inputs, z, [u, w, s, bias = shape_of(bias)](const Tensor& g, const Needs& n) {
      Tensor gu = n[0] ? conv2d_core(g, w, s) : Tensor();
      Tensor gw = n[1] ? weight_grad_core(g, u, s, w.dim(0), w.dim(1)) : Tensor();
      return conv_grads(std::move(gu), std::move(gw), g, bias, n);
    });
  }
  return z;
}

// x[N, H, W, Ci], u[N, Ho, Wo, Co] -> v[kh, kw, Ci, Co]
Tensor weight_grad_core(const Tensor& x, const Tensor& u, const Spec& s, std::int64_t kh, std::int64_t kw) {
  const detail::OpScope op(kWeightGrad);
  Tensor v = detail::empty({kh, kw, x.dim(3), u.dim(3)}, x.dtype());
  const auto cs = conv_shape(x.shape(), v.shape(), u.dim(1), u.dim(2), s);
  detail::dispatch(x.dtype(), [&]<class T>() {
    kernels::conv2d_weight(cs, x.data<T>(), u.data<T>(), detail::mutable_data<T>(v));
  });
  if (detail::should_record(x, u)) {
    op.record({x, u}, v, [x, u, s](const Tensor& g, const Needs& n) {
      Tensor gx = n[0] ? conv_transpose_core(u, g, s, x.dim(1), x.dim(2)) : Tensor();
      Tensor gu = n[1] ? conv2d_core(x, g, s) : Tensor();
      return Grads{gx, gu};
    });
  }
  return v;
}

void require_rank4(const char* op, const Tensor& t, const char* name, const std::string& shapes) {
  if (t.rank() != 4) {
    throw ShapeError(std::string(op) + ": " + name + " must have rank 4, got rank " + std::to_string(t.rank()) +
                     "; " + shapes);
  }
}

std::string two(const char* na, const Tensor& a, const char* nb, const Tensor& b) {
  return std::string(na) + "=" + a.shape().to_string() + ", " + nb + "=" + b.shape().to_string();
}

// A conv op's optional bias: undefined, or [channels] of the op's dtype.
void check_bias(const char* op, const Tensor& bias, std::int64_t channels, const Tensor& like, const std::string& shapes) {
  if (!bias.defined()) return;
  ops_detail::require_same_dtype(op, like, bias, "the input", "bias");
  if (bias.rank() != 1 || bias.dim(0) != channels) {
    throw ShapeError(std::string(op) + ": bias must be [" + std::to_string(channels) + "] (the output's channels), got " +
                     bias.shape().to_string() + "; " + shapes);
  }
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Conv2dOptions& o) { return conv2d(x, w, Tensor(), o); }

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dOptions& o) {
  ops_detail::require_same_dtype(kConv2d, x, w, "x", "w");
  const std::string shapes = two("x", x, "w", w);
  require_rank4(kConv2d, x, "x [N, H, W, C]", shapes);
  require_rank4(kConv2d, w, "w [kh, kw, Ci, Co]", shapes);
  check_params(kConv2d, o.strides, o.padding, shapes);
  if (x.dim(3) != w.dim(2)) {
    throw ShapeError("conv2d: x has " + std::to_string(x.dim(3)) + " channels but w expects " +
                     std::to_string(w.dim(2)) + "; " + shapes + ", " + params_text(o.strides, o.padding));
  }
  check_bias(kConv2d, bias, w.dim(3), x, shapes);
  std::int64_t ho, wo;
  const Spec s = resolve(kConv2d, x.dim(1), x.dim(2), w.dim(0), w.dim(1), o.strides, o.padding, shapes, ho, wo);
  return conv2d_core(x, w, s, bias);
}

namespace {

// Keras' Conv2DTranspose output length for one axis.
std::int64_t transpose_length(std::int64_t in, std::int64_t k, std::int64_t stride, const Padding& p, int axis,
                              const std::optional<std::array<std::int64_t, 2>>& output_padding) {
  if (!output_padding) {
    if (p.mode == PaddingMode::same) return in * stride;
    if (p.mode == PaddingMode::valid) return in * stride + std::max<std::int64_t>(k - stride, 0);
    return (in - 1) * stride + k - p.pads[2 * axis] - p.pads[2 * axis + 1];
  }
  const std::int64_t op = (*output_padding)[axis];
  const std::int64_t pads = p.mode == PaddingMode::same      ? 2 * (k / 2)
                            : p.mode == PaddingMode::valid ? 0
                                                           : p.pads[2 * axis] + p.pads[2 * axis + 1];
  return (in - 1) * stride + k - pads + op;
}

}  // namespace

Tensor conv_transpose2d(const Tensor& u, const Tensor& w, const ConvTranspose2dOptions& o) {
  return conv_transpose2d(u, w, Tensor(), o);
}

Tensor conv_transpose2d(const Tensor& u, const Tensor& w, const Tensor& bias, const ConvTranspose2dOptions& o) {
  ops_detail::require_same_dtype(kConvTranspose2d, u, w, "u", "w");
  const std::string shapes = two("u", u, "w", w);
  require_rank4(kConvTranspose2d, u, "u [N, H, W, C]", shapes);
  require_rank4(kConvTranspose2d, w, "w [kh, kw, Ci, Co]", shapes);
  check_params(kConvTranspose2d, o.strides, o.padding, shapes);
  const std::string params = params_text(o.strides, o.padding);
  if (u.dim(3) != w.dim(3)) {
    throw ShapeError("conv_transpose2d: u has " + std::to_string(u.dim(3)) + " channels but w expects " +
                     std::to_string(w.dim(3)) + " (its last axis); " + shapes + ", " + params);
  }
  check_bias(kConvTranspose2d, bias, w.dim(2), u, shapes);
  if (o.output_padding) {
    for (int a = 0; a < 2; ++a) {
      if ((*o.output_padding)[a] < 0 || (*o.output_padding)[a] >= o.strides[a]) {
        throw ValueError("conv_transpose2d: output_padding must be in [0, stride); " + shapes + ", " + params +
                         ", output_padding=" + std::to_string((*o.output_padding)[a]));
      }
    }
  }
  if (o.output_size && o.output_padding) {
    throw ValueError("conv_transpose2d: give output_size or output_padding, not both; " + shapes + ", " + params);
  }
  std::array<std::int64_t, 2> size{};
  if (o.output_size) {
    size = *o.output_size;
  } else {
    for (int a = 0; a < 2; ++a) {
      size[a] = transpose_length(u.dim(1 + a), w.dim(a), o.strides[a], o.padding, a, o.output_padding);
    }
  }
  std::int64_t ho = 0, wo = 0;
  const std::string sized = shapes + ", output size=[" + std::to_string(size[0]) + ", " + std::to_string(size[1]) + "]";
  if (size[0] < 1 || size[1] < 1) {
    throw ShapeError("conv_transpose2d: output size must be positive; " + sized + ", " + params);
  }
  const Spec s = resolve(kConvTranspose2d, size[0], size[1], w.dim(0), w.dim(1), o.strides, o.padding, sized, ho, wo);
  if (ho != u.dim(1) || wo != u.dim(2)) {
    throw ShapeError("conv_transpose2d: conv2d of the output size gives " + std::to_string(ho) + "x" +
                     std::to_string(wo) + ", not u's " + std::to_string(u.dim(1)) + "x" + std::to_string(u.dim(2)) +
                     "; " + sized + ", " + params);
  }
  return conv_transpose_core(u, w, s, size[0], size[1], bias);
}

Tensor conv2d_weight_grad(const Tensor& x, const Tensor& u, const Conv2dOptions& o,
                          std::array<std::int64_t, 2> kernel_size) {
  ops_detail::require_same_dtype(kWeightGrad, x, u, "x", "u");
  const std::string shapes = two("x", x, "u", u);
  require_rank4(kWeightGrad, x, "x [N, H, W, Ci]", shapes);
  require_rank4(kWeightGrad, u, "u [N, Ho, Wo, Co]", shapes);
  check_params(kWeightGrad, o.strides, o.padding, shapes);
  const std::string params = params_text(o.strides, o.padding) + ", kernel=[" + std::to_string(kernel_size[0]) +
                             ", " + std::to_string(kernel_size[1]) + "]";
  if (x.dim(0) != u.dim(0) || kernel_size[0] < 1 || kernel_size[1] < 1) {
    throw ShapeError("conv2d_weight_grad: batch sizes differ or the kernel is empty; " + shapes + ", " + params);
  }
  std::int64_t ho, wo;
  const Spec s = resolve(kWeightGrad, x.dim(1), x.dim(2), kernel_size[0], kernel_size[1], o.strides,
                         o.padding, shapes, ho, wo);
  if (ho != u.dim(1) || wo != u.dim(2)) {
    throw ShapeError("conv2d_weight_grad: conv2d of x gives " + std::to_string(ho) + "x" + std::to_string(wo) +
                     ", not u's " + std::to_string(u.dim(1)) + "x" + std::to_string(u.dim(2)) + "; " + shapes +
                     ", " + params);
  }
  return weight_grad_core(x, u, s, kernel_size[0], kernel_size[1]);
}

}  // namespace tape
