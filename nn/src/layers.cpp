// The layers: Dense, Conv2D, Conv2DTranspose, BatchNorm, activations, Dropout, Reshape, pooling.
#include "tape/nn/layers.h"

#include <cmath>

namespace tape::nn {

Tensor apply_activation(const Tensor& x, Activation activation, double alpha) {
  switch (activation) {
    case Activation::relu: return relu(x);
    case Activation::tanh: return tanh(x);
    case Activation::sigmoid: return sigmoid(x);
    case Activation::leaky_relu: return leaky_relu(x, alpha);
    default: return x;
  }
}

std::string to_string(Activation activation) {
  switch (activation) {
    case Activation::relu: return "relu";
    case Activation::tanh: return "tanh";
    case Activation::sigmoid: return "sigmoid";
    case Activation::leaky_relu: return "leaky_relu";
    default: return "linear";
  }
}

namespace {

void require_rank(const Module& m, const Shape& s, std::int64_t rank, const char* layout) {
  if (s.rank() != rank) {
    throw ShapeError(m.type_name() + " '" + m.name() + "': expects input " + layout + ", got " + s.to_string());
  }
}

}  // namespace

// ---------------------------------------------------------------- Dense
Dense::Dense(std::int64_t units, DenseOptions options) : KernelLayer("dense", options.name), units_(units), options_(std::move(options)) {
  if (units < 1) throw ValueError("Dense: units must be >= 1, got " + std::to_string(units));
}

void Dense::build_variables(const Shape& input_shape, DType dtype) {
  if (input_shape.rank() < 2) {
    throw ShapeError("Dense '" + name() + "': expects input [batch, ..., features], got " + input_shape.to_string());
  }
  kernel_ = add_weight("kernel", {input_shape[-1], units_}, options_.kernel_initializer, true, dtype);
  if (options_.use_bias) bias_ = add_weight("bias", {units_}, options_.bias_initializer, true, dtype);
}

// x[..., in] -> [..., units]
Tensor Dense::call(const Tensor& x, bool) {
  if (x.dim(-1) != kernel_.shape()[0]) {
    throw ShapeError("Dense '" + name() + "': input has " + std::to_string(x.dim(-1)) + " features but the kernel expects " +
                     std::to_string(kernel_.shape()[0]) + "; x=" + x.shape().to_string() +
                     ", kernel=" + kernel_.shape().to_string());
  }
  Tensor y = matmul(x, call_kernel());
  if (options_.use_bias) y = y + bias_;
  return apply_activation(y, options_.activation);
}

// ---------------------------------------------------------------- Conv2D, Conv2DTranspose
ConvLayer::ConvLayer(std::string default_name, std::int64_t filters, std::array<std::int64_t, 2> kernel_size,
                     ConvOptions options)
    : KernelLayer(std::move(default_name), options.name), filters_(filters), kernel_size_(kernel_size),
      options_(std::move(options)) {
  if (filters < 1 || kernel_size[0] < 1 || kernel_size[1] < 1) {
    throw ValueError("Conv layers need filters >= 1 and a kernel of at least 1x1; filters=" + std::to_string(filters));
  }
}

void ConvLayer::make_variables(const Shape& input_shape, bool transposed, DType dtype) {
  require_rank(*this, input_shape, 4, "[N, H, W, C]");
  const std::int64_t c = input_shape[3];
  kernel_ = add_weight("kernel", {kernel_size_[0], kernel_size_[1], transposed ? filters_ : c, transposed ? c : filters_},
                       options_.kernel_initializer, true, dtype);
  if (options_.use_bias) bias_ = add_weight("bias", {filters_}, options_.bias_initializer, true, dtype);
}

Tensor ConvLayer::finish(const Tensor& y) const { return apply_activation(y, options_.activation); }

// The bias the conv ops add (undefined without one).
Tensor ConvLayer::call_bias() const { return options_.use_bias ? Tensor(bias_) : Tensor(); }

// x[N, H, W, C] -> [N, Ho, Wo, filters]
Tensor Conv2D::call(const Tensor& x, bool) {
  return finish(conv2d(x, call_kernel(), call_bias(), {options_.strides, options_.padding}));
}

// x[N, H, W, C] -> [N, H', W', filters] (Keras' output size rule)
Tensor Conv2DTranspose::call(const Tensor& x, bool) {
  return finish(conv_transpose2d(x, call_kernel(), call_bias(),
                                 {options_.strides, options_.padding, std::nullopt, options_.output_padding}));
}

// ---------------------------------------------------------------- BatchNorm
BatchNorm::BatchNorm(BatchNormOptions options) : Module("batch_normalization", options.name), options_(std::move(options)) {
  if (!(options_.momentum >= 0.0 && options_.momentum <= 1.0) || !(options_.epsilon > 0.0)) {
    throw ValueError("BatchNorm: momentum must be in [0, 1] and epsilon > 0");
  }
}

void BatchNorm::set_replicas(ReplicaSum sum, std::int64_t replicas) {
  if (replicas < 1) throw ValueError("BatchNorm " + name() + ": replicas must be >= 1, got " + std::to_string(replicas));
  replicas_ = sum ? replicas : 1;
  replica_sum_ = replicas_ > 1 ? std::move(sum) : ReplicaSum();
}

void BatchNorm::set_momentum(double momentum) {
  if (!(momentum >= 0.0 && momentum <= 1.0)) {
    throw ValueError("BatchNormalization '" + name() + "': momentum must be in [0, 1], got " + std::to_string(momentum));
  }
  options_.momentum = momentum;
}

void BatchNorm::build_variables(const Shape& input_shape, DType dtype) {
  if (input_shape.rank() < 2) {
    throw ShapeError("BatchNormalization '" + name() + "': expects input [batch, ..., C], got " + input_shape.to_string());
  }
  const Shape c{input_shape[-1]};
  if (options_.scale) gamma_ = add_weight("gamma", c, init::ones(), true, dtype);
  if (options_.center) beta_ = add_weight("beta", c, init::zeros(), true, dtype);
  moving_mean_ = add_weight("moving_mean", c, init::zeros(), false, dtype);
  moving_variance_ = add_weight("moving_variance", c, init::ones(), false, dtype);
}

// x[..., C] -> [..., C], normalized per channel over every other axis
Tensor BatchNorm::call(const Tensor& x, bool training) {
  const Tensor gamma = options_.scale ? gamma_.value() : Tensor();
  const Tensor beta = options_.center ? beta_.value() : Tensor();
  if (!training) {
    Tensor y = (x - moving_mean_.peek()) * rsqrt(moving_variance_.peek() + options_.epsilon);
    if (gamma.defined()) y = y * gamma;
    if (beta.defined()) y = y + beta;
    return y;
  }
  const BatchNormResult r = replicas_ > 1 ? batch_norm(x, gamma, beta, options_.epsilon, replica_sum_, replicas_)
                                          : batch_norm(x, gamma, beta, options_.epsilon);
  NoRecord no_record;
  const double n = static_cast<double>(x.numel() / x.dim(-1) * replicas_);
  const Tensor batch_var = options_.unbiased_moving_variance && n > 1 ? r.variance * (n / (n - 1.0)) : r.variance;
  const double m = options_.momentum;
  moving_mean_.assign(moving_mean_.peek() * m + r.mean * (1.0 - m));
  moving_variance_.assign(moving_variance_.peek() * m + batch_var * (1.0 - m));
  return r.y;
}

// ---------------------------------------------------------------- per-example normalization
FeatureNorm::FeatureNorm(const char* default_name, const char* layer, FeatureNormOptions options)
    : Module(default_name, options.name), options_(std::move(options)) {
  if (!(options_.epsilon > 0.0)) throw ValueError(std::string(layer) + ": epsilon must be > 0, got " + std::to_string(options_.epsilon));
}

void FeatureNorm::add_affine(std::int64_t channels, DType dtype) {
  if (options_.scale) gamma_ = add_weight("gamma", Shape{channels}, init::ones(), true, dtype);
  if (options_.center) beta_ = add_weight("beta", Shape{channels}, init::zeros(), true, dtype);
}

LayerNorm::LayerNorm(FeatureNormOptions options) : FeatureNorm("layer_normalization", "LayerNormalization", std::move(options)) {}

void LayerNorm::build_variables(const Shape& input_shape, DType dtype) {
  if (input_shape.rank() < 2) {
    throw ShapeError("LayerNormalization '" + name() + "': expects input [batch, ..., D], got " + input_shape.to_string());
  }
  add_affine(input_shape[-1], dtype);
}

// x[..., D] -> [..., D]
Tensor LayerNorm::call(const Tensor& x, bool) { return layer_norm(x, gamma_value(), beta_value(), options_.epsilon); }

GroupNorm::GroupNorm(std::int64_t groups, FeatureNormOptions options)
    : FeatureNorm("group_normalization", "GroupNormalization", std::move(options)), groups_(groups) {
  if (groups_ == 0 || groups_ < -1) throw ValueError("GroupNormalization: groups must be >= 1 or -1 (one per channel), got " + std::to_string(groups_));
}

void GroupNorm::build_variables(const Shape& input_shape, DType dtype) {
  const std::int64_t c = input_shape.rank() >= 2 ? input_shape[-1] : 0;
  if (groups_ == -1) groups_ = c;
  if (input_shape.rank() < 2 || groups_ < 1 || c % groups_ != 0) {
    throw ShapeError("GroupNormalization '" + name() + "': expects input [batch, ..., C] with C a multiple of groups " +
                     std::to_string(groups_) + ", got " + input_shape.to_string());
  }
  add_affine(c, dtype);
}

// x[N, ..., C] -> [N, ..., C]
Tensor GroupNorm::call(const Tensor& x, bool) { return group_norm(x, groups_, gamma_value(), beta_value(), options_.epsilon); }

UpSampling2D::UpSampling2D(std::array<std::int64_t, 2> size, Interpolation interpolation, std::string name)
    : Module("up_sampling2d", std::move(name)), size_(size), interpolation_(interpolation) {
  if (size_[0] < 1 || size_[1] < 1) {
    throw ValueError("UpSampling2D: size must be positive, got [" + std::to_string(size_[0]) + ", " + std::to_string(size_[1]) + "]");
  }
}

// x[N, H, W, C] -> [N, H * sh, W * sw, C]
Tensor UpSampling2D::call(const Tensor& x, bool) {
  if (interpolation_ == Interpolation::nearest) return upsample_nearest2d(x, size_);
  if (x.rank() != 4) throw ShapeError("UpSampling2D '" + name() + "': expects input [N, H, W, C], got " + x.shape().to_string());
  return resize_bilinear2d(x, {x.dim(1) * size_[0], x.dim(2) * size_[1]}, interpolation_ == Interpolation::bilinear);
}

// ---------------------------------------------------------------- Rescaling
Rescaling::Rescaling(double scale, double offset, std::string name)
    : Module("rescaling", std::move(name)), scale_(scale), offset_(offset) {
  if (!std::isfinite(scale) || !std::isfinite(offset)) {
    throw ValueError("Rescaling: scale and offset must be finite, got " + std::to_string(scale) + " and " +
                     std::to_string(offset));
  }
}

// x[...] -> x * scale + offset
Tensor Rescaling::call(const Tensor& x, bool) {
  const Tensor scaled = scale_ == 1.0 ? x : x * scale_;
  return offset_ == 0.0 ? scaled : scaled + offset_;
}

// ---------------------------------------------------------------- activations
LeakyReLU::LeakyReLU(double alpha, std::string name) : Module("leaky_re_lu", std::move(name)), alpha_(alpha) {}
Tensor LeakyReLU::call(const Tensor& x, bool) { return leaky_relu(x, alpha_); }

Tensor LeakyReLU::call_fused(Module& next, const Tensor& x, bool training) {
  auto* dropout = dynamic_cast<Dropout*>(&next);
  if (!training || dropout == nullptr || dropout->rate() == 0.0 || !x.defined()) return Tensor();
  call_with(x, [&] { return x; });  // its output, of x's shape, is the fused op's intermediate
  return dropout->call_with(x, [&] {
    return leaky_relu_dropout(x, alpha_, dropout->rate(), dropout->generator(), dropout->batch_shard());
  });
}

// ---------------------------------------------------------------- Dropout
Dropout::Dropout(double rate, DropoutOptions options)
    : Module("dropout", options.name), rate_(rate), seed_(options.seed), gen_(options.seed) {
  if (!(rate >= 0.0 && rate < 1.0)) throw ValueError("Dropout: rate must be in [0, 1), got " + std::to_string(rate));
}

void Dropout::build_variables(const Shape&, DType) {
  if (seed_ == 0) gen_ = Generator(seed_from_name(name()));
}

// x[...] -> x * mask, mask = (u > rate) / (1 - rate), while training (tape::dropout)
Tensor Dropout::call(const Tensor& x, bool training) {
  if (!training || rate_ == 0.0) return x;
  return dropout(x, rate_, gen_, shard_);
}

void Dropout::set_batch_shard(const BatchShard& shard) {
  shard.check();
  shard_ = shard;
}

void set_data_parallel(Module& model, const BatchShard& shard, const ReplicaSum& batch_norm_sum) {
  shard.check();
  for (Dropout* d : modules_of<Dropout>(model)) d->set_batch_shard(shard);
  for (BatchNorm* bn : modules_of<BatchNorm>(model)) bn->set_replicas(batch_norm_sum, shard.count);
}

// ---------------------------------------------------------------- Reshape
Reshape::Reshape(std::vector<std::int64_t> target_shape, std::string name)
    : Module("reshape", std::move(name)), target_(std::move(target_shape)) {}

// x[N, ...] -> [N, target...]
Tensor Reshape::call(const Tensor& x, bool) {
  std::vector<std::int64_t> dims{x.dim(0)};
  dims.insert(dims.end(), target_.begin(), target_.end());
  return reshape(x, dims);
}

// ---------------------------------------------------------------- Concatenate
Concatenate::Concatenate(std::int64_t axis, std::string name) : Module("concatenate", std::move(name)), axis_(axis) {
  if (axis == 0) throw ValueError("Concatenate: axis 0 is the batch axis; join along a feature axis (default -1)");
}

Tensor Concatenate::call(const Tensor&, bool) {
  throw ValueError("Concatenate '" + name() + "': needs two or more inputs, got one");
}

// x_i[N, ..., a_i, ...] -> [N, ..., sum a_i, ...]
Tensor Concatenate::call_inputs(const std::vector<Tensor>& inputs, bool) {
  const std::int64_t rank = inputs[0].rank();
  if (axis_ == -rank) {
    throw ValueError("Concatenate '" + name() + "': axis " + std::to_string(axis_) + " is the batch axis of inputs of rank " +
                     std::to_string(rank));
  }
  try {
    return concat(inputs, axis_);
  } catch (const ShapeError& e) {
    throw ShapeError("Concatenate '" + name() + "': " + e.what());
  }
}

// ---------------------------------------------------------------- Embedding
Embedding::Embedding(std::int64_t input_dim, std::int64_t output_dim, EmbeddingOptions options)
    : Module("embedding", options.name), input_dim_(input_dim), output_dim_(output_dim), options_(std::move(options)) {
  if (input_dim < 1 || output_dim < 1) {
    throw ValueError("Embedding: input_dim and output_dim must be >= 1, got " + std::to_string(input_dim) + " and " +
                     std::to_string(output_dim));
  }
}

void Embedding::build_variables(const Shape&, DType) {
  embeddings_ = add_weight("embeddings", {input_dim_, output_dim_}, options_.embeddings_initializer, true, options_.dtype);
}

// ids[N, ...] -> [N, ..., output_dim]
Tensor Embedding::call(const Tensor& ids, bool) {
  Tensor rows;  // [ids.numel(), input_dim]
  try {
    rows = reshape(one_hot(ids, input_dim_), {-1, input_dim_}).to(embeddings_.dtype());
  } catch (const ValueError& e) {
    throw ValueError("Embedding '" + name() + "': " + e.what());
  }
  std::vector<std::int64_t> dims = ids.shape().dims();
  dims.push_back(output_dim_);
  return reshape(matmul(rows, embeddings_.value()), dims);
}

// ---------------------------------------------------------------- pooling
MaxPool2D::MaxPool2D(std::array<std::int64_t, 2> pool_size, std::string name)
    : MaxPool2D(pool_size, Pool2dOptions{}, std::move(name)) {}
MaxPool2D::MaxPool2D(std::array<std::int64_t, 2> pool_size, Pool2dOptions options, std::string name)
    : Module("max_pooling2d", std::move(name)), pool_(pool_size), options_(std::move(options)) {}
Tensor MaxPool2D::call(const Tensor& x, bool) { return max_pool2d(x, pool_, options_); }

AveragePool2D::AveragePool2D(std::array<std::int64_t, 2> pool_size, std::string name)
    : AveragePool2D(pool_size, Pool2dOptions{}, std::move(name)) {}
AveragePool2D::AveragePool2D(std::array<std::int64_t, 2> pool_size, Pool2dOptions options, std::string name)
    : Module("average_pooling2d", std::move(name)), pool_(pool_size), options_(std::move(options)) {}
Tensor AveragePool2D::call(const Tensor& x, bool) { return avg_pool2d(x, pool_, options_); }

}  // namespace tape::nn
