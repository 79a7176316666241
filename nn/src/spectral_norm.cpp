// SpectralNorm: the power iteration on the wrapped layer's kernel, sigma = u^T W v, and the call
// of the wrapped layer with kernel / sigma (torch.nn.utils.spectral_norm's compute_weight).
#include "tape/nn/spectral_norm.h"

#include <sstream>

namespace tape::nn {
namespace {

// x[...] -> x / max(|x|, eps) over all of x (torch.nn.functional.normalize of a vector)
Tensor l2_normalize(const Tensor& x, double eps) {
  return x / maximum(sqrt(sum(square(x))), Tensor::scalar(eps, x.dtype()));
}

// W[out, rest], u[out], v[rest] -> u^T W v, a scalar (torch.dot(u, torch.mv(W, v)))
Tensor sigma_of(const Tensor& w, const Tensor& u, const Tensor& v) {
  return sum(reshape(u, {-1, 1}) * matmul(w, reshape(v, {-1, 1})));
}

}  // namespace

SpectralNorm::SpectralNorm(std::shared_ptr<Module> layer, SpectralNormOptions options)
    : Module("spectral_normalization", options.name), layer_(std::dynamic_pointer_cast<KernelLayer>(layer)),
      options_(std::move(options)) {
  if (!layer) throw ValueError("SpectralNormalization: the layer to wrap is null");
  if (!layer_) {
    throw ValueError("SpectralNormalization: " + layer->type_name() + " '" + layer->name() +
                     "' has no kernel to normalize (Dense, Conv2D and Conv2DTranspose have one)");
  }
  if (options_.n_power_iterations < 1 || !(options_.eps > 0.0)) {
    std::ostringstream os;
    os << "SpectralNormalization: n_power_iterations must be >= 1 and eps > 0, got n_power_iterations="
       << options_.n_power_iterations << ", eps=" << options_.eps;
    throw ValueError(os.str());
  }
}

void SpectralNorm::build_variables(const Shape& input_shape, DType dtype) {
  build_child(*layer_, input_shape, dtype);
  const Variable kernel = layer_->kernel();
  const std::int64_t out = kernel.shape()[layer_->kernel_matrix_axes()[0]];
  const double eps = options_.eps;
  // N(0, 1) from the build generator, normalized (PyTorch's initial weight_u and weight_v)
  const Initializer unit_normal = [eps](const Shape& shape, DType dt, Generator& gen) {
    return l2_normalize(Tensor::normal(shape, gen, 0.0, 1.0, dt), eps);
  };
  u_ = add_weight("u", {out}, unit_normal, false, kernel.dtype());
  v_ = add_weight("v", {kernel.shape().numel() / out}, unit_normal, false, kernel.dtype());
}

// kernel[...] -> W[out, in * kh * kw]: the kernel in PyTorch's weight layout, flattened after `out`
Tensor SpectralNorm::kernel_matrix(const Tensor& kernel) const {
  const std::vector<std::int64_t> axes = layer_->kernel_matrix_axes();
  return reshape(permute(kernel, axes), {kernel.dim(axes[0]), -1});
}

// kernel[...] -> kernel / sigma, sigma = u^T W v; training: u, v <- power iteration on W first
Tensor SpectralNorm::normalized_kernel(bool training) {
  const Tensor kernel = layer_->kernel().value();  // watched: gradients reach it through W and sigma
  const Tensor w = kernel_matrix(kernel);
  if (training) {
    NoRecord no_record;  // the power iteration is constant to every tape
    const double eps = options_.eps;
    Tensor u = reshape(u_.peek(), {1, -1}), v;
    for (int i = 0; i < options_.n_power_iterations; ++i) {
      v = l2_normalize(matmul(u, w), eps);                           // [1, rest]: normalize(W^T u)
      u = reshape(l2_normalize(matmul(w, reshape(v, {-1, 1})), eps), {1, -1});  // [1, out]: normalize(W v)
    }
    u_.assign(reshape(u, {-1}));
    v_.assign(reshape(v, {-1}));
  }
  return kernel / sigma_of(w, u_.peek(), v_.peek());
}

Tensor SpectralNorm::sigma() const {
  if (!u_.defined()) throw ValueError("SpectralNormalization '" + name() + "': sigma() before the layer is built");
  NoRecord no_record;
  return sigma_of(kernel_matrix(layer_->kernel().peek()), u_.peek(), v_.peek());
}

// x[...] -> the wrapped layer's output, computed with its kernel / sigma
Tensor SpectralNorm::call(const Tensor& x, bool training) {
  layer_->kernel_override_ = normalized_kernel(training);
  struct Restore {
    KernelLayer& layer;
    ~Restore() { layer.kernel_override_ = Tensor(); }
  } restore{*layer_};
  return (*layer_)(x, training);
}

}  // namespace tape::nn
