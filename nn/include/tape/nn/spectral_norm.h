// SpectralNorm: spectral normalization of a layer's kernel (Miyato et al. 2018) with the
// semantics of PyTorch's torch.nn.utils.spectral_norm, as a Keras-style wrapper layer
// (keras.layers.SpectralNormalization): nn::SpectralNorm(nn::Conv2D(64, 4, ...)).
#pragma once
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tape/nn/layers.h"

namespace tape::nn {

struct SpectralNormOptions {
  int n_power_iterations = 1;  // power-iteration steps per training call (PyTorch's default 1)
  double eps = 1e-12;          // normalize(x) = x / max(|x|, eps), as in PyTorch
  std::string name;
};

// Runs the wrapped Dense, Conv2D or Conv2DTranspose with kernel / sigma, where sigma estimates the
// largest singular value of the kernel as a matrix W[out, in * kh * kw] (PyTorch's weight layout,
// KernelLayer::kernel_matrix_axes; for Conv2DTranspose `out` is its filters, PyTorch's dim=1).
// training: n_power_iterations steps v = normalize(W^T u), u = normalize(W v) update the stored
// vectors u[out] and v[in * kh * kw] first; inference: the stored ones as they are. Then
// sigma = u^T W v with u and v constants, so gradients reach the kernel through W and sigma but
// not through the power iteration, exactly as in PyTorch. u and v are non-trainable variables
// ("u", "v": PyTorch's weight_u and weight_v, in the same order), drawn from N(0, 1) with the
// build generator and normalized; they are checkpointed and counted like BatchNorm's moving
// statistics. The kernel stays the wrapped layer's trainable variable
// ("spectral_normalization/conv2d/kernel"). Calling the wrapped layer directly uses its raw kernel.
class SpectralNorm : public Module {
 public:
  // Takes the layer by value, like Sequential; throws ValueError naming it if it has no kernel.
  template <class L, class = std::enable_if_t<std::is_base_of_v<Module, std::decay_t<L>>>>
  explicit SpectralNorm(L&& layer, SpectralNormOptions options = {})
      : SpectralNorm(std::shared_ptr<Module>(std::make_shared<std::decay_t<L>>(std::forward<L>(layer))),
                     std::move(options)) {}
  explicit SpectralNorm(std::shared_ptr<Module> layer, SpectralNormOptions options = {});

  std::string type_name() const override { return "SpectralNormalization"; }
  std::vector<Module*> children() override { return {layer_.get()}; }
  KernelLayer& layer() { return *layer_; }
  const KernelLayer& layer() const { return *layer_; }
  Variable u() const { return u_; }
  Variable v() const { return v_; }
  int n_power_iterations() const { return options_.n_power_iterations; }
  // The current estimate u^T W v from the stored vectors and kernel, a constant (what an
  // inference call divides by; after a training call, what that call divided by).
  Tensor sigma() const;

 protected:
  Tensor call(const Tensor& x, bool training) override;
  // Builds the wrapped layer, then u and v to fit its kernel.
  void build_variables(const Shape& input_shape, DType dtype) override;

 private:
  // kernel[...] -> W[out, in * kh * kw]
  Tensor kernel_matrix(const Tensor& kernel) const;
  // The kernel divided by sigma; in training the power iteration updates u and v first.
  Tensor normalized_kernel(bool training);

  std::shared_ptr<KernelLayer> layer_;
  SpectralNormOptions options_;
  Variable u_, v_;
};

}  // namespace tape::nn
