// The Keras-shaped layers: Dense, Conv2D, Conv2DTranspose, BatchNorm, activations, Dropout,
// Reshape, Concatenate, Embedding, Flatten and pooling. Activations are NHWC; kernels HWIO as in Keras.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "tape/nn/init.h"
#include "tape/nn/module.h"

namespace tape::nn {

// An activation applied after a layer (Keras' `activation=` argument).
enum class Activation { linear, relu, tanh, sigmoid, leaky_relu };
// alpha: leaky_relu's slope, by default tape::leaky_relu's 0.2 (Keras' activation="leaky_relu"
// is tf.nn.leaky_relu too).
Tensor apply_activation(const Tensor& x, Activation activation, double alpha = 0.2);
std::string to_string(Activation activation);

struct DenseOptions {
  bool use_bias = true;
  Activation activation = Activation::linear;
  Initializer kernel_initializer = init::glorot_uniform();
  Initializer bias_initializer = init::zeros();
  std::string name;
};

// What Dense, Conv2D and Conv2DTranspose share: a kernel and an optional bias, and the kernel's
// layout as a matrix [out, in * spatial] (what SpectralNorm normalizes).
class KernelLayer : public Module {
 public:
  Variable kernel() const { return kernel_; }
  Variable bias() const { return bias_; }
  // The kernel's axes in PyTorch's weight order with the output axis first, [out, in, kh, kw]
  // (torch.nn.utils.spectral_norm's matrix is that, reshaped to [out, -1]): Dense {1, 0},
  // Conv2D {3, 2, 0, 1}, Conv2DTranspose {2, 3, 0, 1}.
  virtual std::vector<std::int64_t> kernel_matrix_axes() const = 0;

 protected:
  using Module::Module;
  // The kernel this call computes with: the variable's value, or the tensor a wrapper
  // (SpectralNorm) made of it for the duration of the wrapper's call.
  Tensor call_kernel() const { return kernel_override_.defined() ? kernel_override_ : kernel_.value(); }

  Variable kernel_, bias_;

 private:
  friend class SpectralNorm;
  Tensor kernel_override_;
};

// x[..., in] -> [..., units]: x @ kernel[in, units] + bias[units]
class Dense : public KernelLayer {
 public:
  explicit Dense(std::int64_t units, DenseOptions options = {});
  std::string type_name() const override { return "Dense"; }
  std::vector<std::int64_t> kernel_matrix_axes() const override { return {1, 0}; }

 protected:
  Tensor call(const Tensor& x, bool training) override;
  void build_variables(const Shape& input_shape, DType dtype) override;

 private:
  std::int64_t units_;
  DenseOptions options_;
};

// strides and padding as in the conv ops' options (tape::Conv2dOptions): padding "valid", "same"
// or explicit pads, e.g. Padding::symmetric(1, 1) for PyTorch's padding=1. Then the layer's own.
struct ConvOptions {
  std::array<std::int64_t, 2> strides{1, 1};
  Padding padding = Padding::valid();
  bool use_bias = true;
  Activation activation = Activation::linear;
  Initializer kernel_initializer = init::glorot_uniform();
  Initializer bias_initializer = init::zeros();
  std::string name;
  // Conv2DTranspose only: extra rows/columns at the bottom/right (Keras output_padding).
  std::optional<std::array<std::int64_t, 2>> output_padding;
};

// What Conv2D and Conv2DTranspose share: filters, kernel size, options, kernel and bias.
class ConvLayer : public KernelLayer {
 protected:
  ConvLayer(std::string default_name, std::int64_t filters, std::array<std::int64_t, 2> kernel_size,
            ConvOptions options);
  // kernel [kh, kw, in_channels_axis, out_channels_axis] and bias [filters], for x[N, H, W, C].
  void make_variables(const Shape& input_shape, bool transposed, DType dtype);
  // y + bias, then the activation.
  Tensor call_bias() const;
  Tensor finish(const Tensor& y) const;

  std::int64_t filters_;
  std::array<std::int64_t, 2> kernel_size_;
  ConvOptions options_;
};

// x[N, H, W, C] -> [N, Ho, Wo, filters]; kernel [kh, kw, C, filters]
class Conv2D : public ConvLayer {
 public:
  Conv2D(std::int64_t filters, std::array<std::int64_t, 2> kernel_size, ConvOptions options = {})
      : ConvLayer("conv2d", filters, kernel_size, std::move(options)) {}
  Conv2D(std::int64_t filters, std::int64_t kernel_size, ConvOptions options = {})
      : Conv2D(filters, {kernel_size, kernel_size}, std::move(options)) {}
  std::string type_name() const override { return "Conv2D"; }
  std::vector<std::int64_t> kernel_matrix_axes() const override { return {3, 2, 0, 1}; }

 protected:
  Tensor call(const Tensor& x, bool training) override;
  void build_variables(const Shape& input_shape, DType dtype) override { make_variables(input_shape, false, dtype); }
};

// x[N, H, W, C] -> [N, H*s, W*s, filters] (same) ; kernel [kh, kw, filters, C] as in Keras
class Conv2DTranspose : public ConvLayer {
 public:
  Conv2DTranspose(std::int64_t filters, std::array<std::int64_t, 2> kernel_size, ConvOptions options = {})
      : ConvLayer("conv2d_transpose", filters, kernel_size, std::move(options)) {}
  Conv2DTranspose(std::int64_t filters, std::int64_t kernel_size, ConvOptions options = {})
      : Conv2DTranspose(filters, {kernel_size, kernel_size}, std::move(options)) {}
  std::string type_name() const override { return "Conv2DTranspose"; }
  std::vector<std::int64_t> kernel_matrix_axes() const override { return {2, 3, 0, 1}; }

 protected:
  Tensor call(const Tensor& x, bool training) override;
  void build_variables(const Shape& input_shape, DType dtype) override { make_variables(input_shape, true, dtype); }
};

struct BatchNormOptions {
  double momentum = 0.99;  // Keras: moving = moving * momentum + batch * (1 - momentum)
  double epsilon = 1e-3;
  bool center = true;      // beta
  bool scale = true;       // gamma
  // PyTorch's convention: the moving variance tracks the unbiased batch variance.
  bool unbiased_moving_variance = false;
  std::string name;
};

// Normalizes over the last (channel/feature) axis: x[..., C] -> [..., C].
// training: batch statistics (tape::batch_norm: one fused op, differentiable to any order) and
// moving averages updated; inference: moving statistics.
class BatchNorm : public Module {
 public:
  explicit BatchNorm(BatchNormOptions options = {});
  std::string type_name() const override { return "BatchNormalization"; }
  Variable gamma() const { return gamma_; }
  Variable beta() const { return beta_; }
  Variable moving_mean() const { return moving_mean_; }
  Variable moving_variance() const { return moving_variance_; }
  double momentum() const { return options_.momentum; }
  // Throws ValueError outside [0, 1]. (recompute_batch_norm_statistics uses it to average.)
  void set_momentum(double momentum);
  // Synchronized BatchNorm for data-parallel training: in training, the statistics of the global
  // batch of `replicas` processes, summed by `sum` (tape::batch_norm's cross-replica form; the
  // moving averages then agree on every process). An empty `sum` or 1 replica: this process's
  // batch alone (the default).
  void set_replicas(ReplicaSum sum, std::int64_t replicas);
  bool synchronized() const { return replicas_ > 1; }

 protected:
  Tensor call(const Tensor& x, bool training) override;
  void build_variables(const Shape& input_shape, DType dtype) override;

 private:
  BatchNormOptions options_;
  Variable gamma_, beta_, moving_mean_, moving_variance_;
  ReplicaSum replica_sum_;
  std::int64_t replicas_ = 1;
};

// Options of the per-example normalizations (Keras' defaults: epsilon 1e-3, both affine terms).
struct FeatureNormOptions {
  double epsilon = 1e-3;
  bool center = true;  // beta
  bool scale = true;   // gamma
  std::string name;
};

// What the per-example normalizations share: the options and the affine gamma[C] (ones) and
// beta[C] (zeros) over the last axis, each optional.
class FeatureNorm : public Module {
 public:
  Variable gamma() const { return gamma_; }
  Variable beta() const { return beta_; }

 protected:
  FeatureNorm(const char* default_name, const char* layer, FeatureNormOptions options);
  // Adds gamma and beta for `channels` (as the options ask).
  void add_affine(std::int64_t channels, DType dtype);
  // Their values, or undefined tensors when the options leave them out.
  Tensor gamma_value() const { return options_.scale ? gamma_.value() : Tensor(); }
  Tensor beta_value() const { return options_.center ? beta_.value() : Tensor(); }
  FeatureNormOptions options_;

 private:
  Variable gamma_, beta_;
};

// Keras' LayerNormalization over the last axis: x[..., D] -> [..., D] (tape::layer_norm), the same
// in training and inference.
class LayerNorm : public FeatureNorm {
 public:
  explicit LayerNorm(FeatureNormOptions options = {});
  std::string type_name() const override { return "LayerNormalization"; }

 protected:
  Tensor call(const Tensor& x, bool training) override;
  void build_variables(const Shape& input_shape, DType dtype) override;
};

// Keras' GroupNormalization: x[N, ..., C] -> [N, ..., C] with statistics per example and group of
// C / groups channels (tape::group_norm); groups = -1 takes one group per channel (instance
// normalization, the WGAN-GP critic's choice where BatchNorm would couple the images).
// ShapeError at build when C is not a multiple of groups.
class GroupNorm : public FeatureNorm {
 public:
  explicit GroupNorm(std::int64_t groups = 32, FeatureNormOptions options = {});
  std::string type_name() const override { return "GroupNormalization"; }
  std::int64_t groups() const { return groups_; }

 protected:
  Tensor call(const Tensor& x, bool training) override;
  void build_variables(const Shape& input_shape, DType dtype) override;

 private:
  std::int64_t groups_;
};

// Instance normalization: GroupNorm with one group per channel.
inline GroupNorm InstanceNorm(FeatureNormOptions options = {}) { return GroupNorm(-1, std::move(options)); }

// Keras' UpSampling2D: x[N, H, W, C] -> [N, H * sh, W * sw, C], "nearest" (each pixel repeated,
// tape::upsample_nearest2d) or "bilinear" (tape::resize_bilinear2d to the same size,
// half-pixel centers as tf.image.resize); bilinear_tf1: TensorFlow 1's tf.image.resize_images,
// which samples output i at i / s (no half-pixel centers).
enum class Interpolation { nearest, bilinear, bilinear_tf1 };
class UpSampling2D : public Module {
 public:
  explicit UpSampling2D(std::array<std::int64_t, 2> size = {2, 2}, Interpolation interpolation = Interpolation::nearest,
                        std::string name = "");
  std::string type_name() const override { return "UpSampling2D"; }

 protected:
  Tensor call(const Tensor& x, bool training) override;

 private:
  std::array<std::int64_t, 2> size_;
  Interpolation interpolation_;
};

// Elementwise activation layers.
// x > 0 ? x : alpha * x. The default alpha is Keras' LeakyReLU's, 0.3, not the op's 0.2
// (tf.nn.leaky_relu's): each follows its TensorFlow counterpart, so models ported from Keras keep
// their slope.
class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double alpha = 0.3, std::string name = "");
  std::string type_name() const override { return "LeakyReLU"; }
  double alpha() const { return alpha_; }
  // Followed by a Dropout while training: tape::leaky_relu_dropout.
  Tensor call_fused(Module& next, const Tensor& x, bool training) override;

 protected:
  Tensor call(const Tensor& x, bool training) override;

 private:
  double alpha_;
};

class ReLU : public Module {
 public:
  explicit ReLU(std::string name = "") : Module("re_lu", std::move(name)) {}
  std::string type_name() const override { return "ReLU"; }

 protected:
  Tensor call(const Tensor& x, bool) override { return relu(x); }
};

class Tanh : public Module {
 public:
  explicit Tanh(std::string name = "") : Module("tanh", std::move(name)) {}
  std::string type_name() const override { return "Activation"; }

 protected:
  Tensor call(const Tensor& x, bool) override { return tanh(x); }
};

class Sigmoid : public Module {
 public:
  explicit Sigmoid(std::string name = "") : Module("sigmoid", std::move(name)) {}
  std::string type_name() const override { return "Activation"; }

 protected:
  Tensor call(const Tensor& x, bool) override { return sigmoid(x); }
};

struct DropoutOptions {
  std::uint64_t seed = 0;  // the mask stream; 0: derived from the layer's name (numbered per model)
  std::string name;
};

// Zeroes a `rate` fraction of x while training and scales the rest by 1 / (1 - rate).
class Dropout : public Module {
 public:
  explicit Dropout(double rate, DropoutOptions options = {});
  std::string type_name() const override { return "Dropout"; }
  // The mask stream: each training call draws one mask from it (set its state to replay a mask).
  Generator& generator() { return gen_; }
  double rate() const { return rate_; }
  // Data-parallel training: each input is shard `shard` of a global batch, and the layer drops
  // that shard's rows of the global batch's mask (tape::dropout's sharded form), so the
  // processes together drop what one process would. BatchShard{} (the default): the whole batch.
  void set_batch_shard(const BatchShard& shard);
  const BatchShard& batch_shard() const { return shard_; }

 protected:
  Tensor call(const Tensor& x, bool training) override;
  // Seeds the stream from the name when no seed was given (the name is known by the first call).
  void build_variables(const Shape& input_shape, DType dtype) override;
  std::vector<std::pair<std::string, Generator*>> own_generators() override { return {{"generator", &gen_}}; }

 private:
  double rate_;
  std::uint64_t seed_;
  Generator gen_;
  BatchShard shard_;
};

// Keras' Rescaling: x[...] -> x * scale + offset (fixed numbers, no variables), e.g. pixels
// [0, 255] -> [0, 1], or a normalization by fixed statistics: (x - mean) / sqrt(variance + eps)
// is Rescaling(1 / sqrt(variance + eps), -mean / sqrt(variance + eps)).
class Rescaling : public Module {
 public:
  explicit Rescaling(double scale, double offset = 0.0, std::string name = "");
  std::string type_name() const override { return "Rescaling"; }
  double scale() const { return scale_; }
  double offset() const { return offset_; }

 protected:
  Tensor call(const Tensor& x, bool training) override;

 private:
  double scale_, offset_;
};

// Data-parallel training: `model` sees shard `shard` of each global batch. Every Dropout in it
// draws its shard of the global batch's mask; with a replica sum, every BatchNorm normalizes with
// the global batch's statistics (synchronized), else with this process's batch. BatchShard{} and
// no sum: back to one process.
void set_data_parallel(Module& model, const BatchShard& shard, const ReplicaSum& batch_norm_sum = {});

// x[N, ...] -> [N, target...]
class Reshape : public Module {
 public:
  explicit Reshape(std::vector<std::int64_t> target_shape, std::string name = "");
  std::string type_name() const override { return "Reshape"; }

 protected:
  Tensor call(const Tensor& x, bool training) override;

 private:
  std::vector<std::int64_t> target_;
};

// Keras' Concatenate: x_i[N, ..., a_i, ...] -> [N, ..., sum a_i, ...] along `axis` (default the
// last: channels or features; not the batch axis); two or more inputs of one dtype, equal in every
// other dimension.
class Concatenate : public Module {
 public:
  explicit Concatenate(std::int64_t axis = -1, std::string name = "");
  std::string type_name() const override { return "Concatenate"; }
  bool accepts_inputs(std::size_t n) const override { return n >= 2; }

 protected:
  Tensor call(const Tensor& x, bool training) override;
  Tensor call_inputs(const std::vector<Tensor>& inputs, bool training) override;

 private:
  std::int64_t axis_;
};

struct EmbeddingOptions {
  Initializer embeddings_initializer = init::uniform(-0.05, 0.05);  // Keras' default
  DType dtype = DType::f32;  // the table's (ids carry no dtype of the model: they are class numbers)
  std::string name;
};

// Keras' Embedding: ids[N, ...] (whole numbers in [0, input_dim), in a float tensor) ->
// [N, ..., output_dim], row ids of embeddings[input_dim, output_dim] (a product with the ids'
// one-hot rows, so differentiable to any order in the table). A label as a learned vector (a
// class-conditional GAN's label input).
class Embedding : public Module {
 public:
  Embedding(std::int64_t input_dim, std::int64_t output_dim, EmbeddingOptions options = {});
  std::string type_name() const override { return "Embedding"; }
  Variable embeddings() const { return embeddings_; }

 protected:
  void build_variables(const Shape& input_shape, DType dtype) override;
  Tensor call(const Tensor& ids, bool training) override;

 private:
  std::int64_t input_dim_, output_dim_;
  EmbeddingOptions options_;
  Variable embeddings_;
};

// x[N, ...] -> [N, prod(...)]
class Flatten : public Module {
 public:
  explicit Flatten(std::string name = "") : Module("flatten", std::move(name)) {}
  std::string type_name() const override { return "Flatten"; }

 protected:
  Tensor call(const Tensor& x, bool) override { return reshape(x, {x.dim(0), -1}); }
};

// Keras' pooling layers: x[N, H, W, C] -> [N, Ho, Wo, C]. By default non-overlapping windows
// (strides = pool size, "valid": [N, H/p, W/p, C]); any strides and "same" padding through
// Pool2dOptions (padded positions never count, as in TensorFlow).
class MaxPool2D : public Module {
 public:
  explicit MaxPool2D(std::array<std::int64_t, 2> pool_size = {2, 2}, std::string name = "");
  MaxPool2D(std::array<std::int64_t, 2> pool_size, Pool2dOptions options, std::string name = "");
  std::string type_name() const override { return "MaxPooling2D"; }

 protected:
  Tensor call(const Tensor& x, bool training) override;

 private:
  std::array<std::int64_t, 2> pool_;
  Pool2dOptions options_;
};

class AveragePool2D : public Module {
 public:
  explicit AveragePool2D(std::array<std::int64_t, 2> pool_size = {2, 2}, std::string name = "");
  AveragePool2D(std::array<std::int64_t, 2> pool_size, Pool2dOptions options, std::string name = "");
  std::string type_name() const override { return "AveragePooling2D"; }

 protected:
  Tensor call(const Tensor& x, bool training) override;

 private:
  std::array<std::int64_t, 2> pool_;
  Pool2dOptions options_;
};

// Pooling as ops, x[N, H, W, C] -> [N, H/ph, W/pw, C]: tape's (tape/ops.h), also reachable here.
using tape::avg_pool2d;
using tape::max_pool2d;

}  // namespace tape::nn
