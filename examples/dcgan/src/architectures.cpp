// The five seed architectures. Discriminators end in a logit (the seeds' final sigmoid is folded
// into the loss, BCE from logits, which is the same function computed stably).
#include "architectures.h"

#include <algorithm>
#include <cmath>

namespace dcgan {

namespace nn = tape::nn;
using nn::Activation;
using nn::ConvOptions;

namespace {

ConvOptions conv(std::int64_t stride, const std::string& padding, bool bias = true,
                 Activation activation = Activation::linear, nn::Initializer init = nn::init::glorot_uniform()) {
  ConvOptions o;
  o.strides = {stride, stride};
  o.padding = padding;
  o.use_bias = bias;
  o.activation = activation;
  o.kernel_initializer = std::move(init);
  return o;
}

ConvOptions torch_conv(std::int64_t stride, std::int64_t pad) {
  ConvOptions o = conv(stride, "valid", false, Activation::linear, nn::init::normal(0.0, 0.02));
  if (pad > 0) o.padding = tape::Padding::symmetric(pad, pad);
  return o;
}

// TensorFlow's DCGAN tutorial: G 2,330,944 params, D 212,865.
Architecture tf_tutorial(std::int64_t z) {
  Architecture a{"tf-tutorial", "TensorFlow DCGAN tutorial (seed 000)",
                 nn::Sequential::named("generator",
                     nn::Dense(7 * 7 * 256, {.use_bias = false}), nn::BatchNorm(), nn::LeakyReLU(),
                     nn::Reshape({7, 7, 256}),
                     nn::Conv2DTranspose(128, 5, conv(1, "same", false)), nn::BatchNorm(), nn::LeakyReLU(),
                     nn::Conv2DTranspose(64, 5, conv(2, "same", false)), nn::BatchNorm(), nn::LeakyReLU(),
                     nn::Conv2DTranspose(1, 5, conv(2, "same", false, Activation::tanh))),
                 nn::Sequential::named("discriminator",
                     nn::Conv2D(64, 5, conv(2, "same")), nn::LeakyReLU(), nn::Dropout(0.3),
                     nn::Conv2D(128, 5, conv(2, "same")), nn::LeakyReLU(), nn::Dropout(0.3),
                     nn::Flatten(), nn::Dense(1)),
                 {28, 28, 1}, z};
  return a;
}

// elvinaqa/DCGAN-Keras (seed 002): G 840,705 params; D as the tutorial's with Dropout 0.5.
Architecture keras_small(std::int64_t z) {
  return {"keras-small", "DCGAN-Keras (seed 002)",
          nn::Sequential::named("generator",
              nn::Dense(7 * 7 * 128), nn::Reshape({7, 7, 128}), nn::BatchNorm(),
              nn::Conv2DTranspose(64, 5, conv(2, "same", true, Activation::relu)), nn::BatchNorm(),
              nn::Conv2DTranspose(1, 5, conv(2, "same", true, Activation::tanh))),
          nn::Sequential::named("discriminator",
              nn::Conv2D(64, 5, conv(2, "same")), nn::LeakyReLU(), nn::Dropout(0.5),
              nn::Conv2D(128, 5, conv(2, "same")), nn::LeakyReLU(), nn::Dropout(0.5),
              nn::Flatten(), nn::Dense(1)),
          {28, 28, 1}, z};
}

// vstark21/DCGANs on digits (seed 001): G 2,343,681 params (biases, ReLU), D 1,030,145.
Architecture vstark21(std::int64_t z) {
  return {"vstark21", "vstark21/DCGANs, digits (seed 001)",
          nn::Sequential::named("generator",
              nn::Dense(7 * 7 * 256), nn::BatchNorm(), nn::ReLU(), nn::Reshape({7, 7, 256}),
              nn::Conv2DTranspose(128, 5, conv(1, "same")), nn::BatchNorm(), nn::ReLU(),
              nn::Conv2DTranspose(64, 5, conv(2, "same")), nn::BatchNorm(), nn::ReLU(),
              nn::Conv2DTranspose(1, 5, conv(2, "same", true, Activation::tanh))),
          nn::Sequential::named("discriminator",
              nn::Conv2D(64, 5, conv(2, "same")), nn::Dropout(0.3), nn::LeakyReLU(),
              nn::Conv2D(128, 5, conv(2, "same")), nn::Dropout(0.3), nn::LeakyReLU(),
              nn::Conv2D(256, 5, conv(2, "same")), nn::Dropout(0.3), nn::LeakyReLU(),
              nn::Flatten(), nn::Dense(1)),
          {28, 28, 1}, z};
}

// PyTorch's C++ DCGAN example: transposed convolutions from a 1x1 noise map, no biases, BN with
// PyTorch's momentum 0.1 / eps 1e-5, N(0, 0.02) weights. d_width: D's first layer's channels,
// g_width: G's last hidden layer's channels (64 and 64 in the example; mnist-fast halves D,
// mnist-lean halves G, whose transposed convolutions are most of the step's multiply-adds).
Architecture libtorch(std::int64_t z, const std::string& name = "libtorch",
                      const std::string& description = "PyTorch's C++ DCGAN example", std::int64_t d_width = 64,
                      std::int64_t g_width = 64) {
  const nn::BatchNormOptions bn{.momentum = 0.9, .epsilon = 1e-5, .unbiased_moving_variance = true};
  return {name, description,
          nn::Sequential::named("generator",
              nn::Reshape({1, 1, z}),
              nn::Conv2DTranspose(4 * g_width, 4, torch_conv(1, 0)), nn::BatchNorm(bn), nn::ReLU(),
              nn::Conv2DTranspose(2 * g_width, 3, torch_conv(2, 1)), nn::BatchNorm(bn), nn::ReLU(),
              nn::Conv2DTranspose(g_width, 4, torch_conv(2, 1)), nn::BatchNorm(bn), nn::ReLU(),
              nn::Conv2DTranspose(1, 4, torch_conv(2, 1)), nn::Tanh()),
          nn::Sequential::named("discriminator",
              nn::Conv2D(d_width, 4, torch_conv(2, 1)), nn::LeakyReLU(0.2),
              nn::Conv2D(2 * d_width, 4, torch_conv(2, 1)), nn::BatchNorm(bn), nn::LeakyReLU(0.2),
              nn::Conv2D(4 * d_width, 4, torch_conv(2, 1)), nn::BatchNorm(bn), nn::LeakyReLU(0.2),
              nn::Conv2D(1, 3, torch_conv(1, 0)), nn::Flatten()),
          {28, 28, 1}, z};
}

// mshenron/TF-GAN (seed 003): G 1,792,385 params, D 59,265, with N(0, 0.2) weights,
// zero biases and LeakyReLU 0.2 throughout, "same" padding. The seed's BatchNorm layers never
// train (TF1's default training=False, and their gamma/beta lie outside both optimizers' variable
// scopes), so they are a fixed scale there; here they normalize with batch statistics and train,
// which is what the seed meant (docs/results.md).
Architecture tf_gan(std::int64_t z) {
  const nn::Initializer w = nn::init::normal(0.0, 0.2);
  return {"tf-gan", "mshenron/TF-GAN (seed 003)",
          nn::Sequential::named("generator",
              nn::Dense(7 * 7 * 256, {.kernel_initializer = w}), nn::LeakyReLU(0.2), nn::Reshape({7, 7, 256}),
              nn::Conv2DTranspose(128, 4, conv(2, "same", true, Activation::linear, w)), nn::BatchNorm(), nn::LeakyReLU(0.2),
              nn::Conv2DTranspose(1, 2, conv(2, "same", true, Activation::tanh, w))),
          nn::Sequential::named("discriminator",
              nn::Conv2D(32, 5, conv(2, "same", true, Activation::linear, w)), nn::LeakyReLU(0.2),
              nn::Conv2D(64, 3, conv(1, "same", true, Activation::linear, w)), nn::BatchNorm(), nn::LeakyReLU(0.2),
              nn::Conv2D(128, 2, conv(2, "same", true, Activation::linear, w)), nn::BatchNorm(), nn::LeakyReLU(0.2),
              nn::Flatten(), nn::Dense(1, {.kernel_initializer = w})),
          {28, 28, 1}, z};
}

// mnist-fast with spectral normalization on every convolution of D and no BatchNorm there
// (SN-GAN's discriminator; libtorch's G).
Architecture mnist_fast_sn(std::int64_t z) {
  Architecture a = libtorch(z, "mnist-fast-sn", "mnist-fast, D spectrally normalized without BatchNorm", 32);
  const std::int64_t w = 32;
  a.discriminator = nn::Sequential::named("discriminator",
      nn::SpectralNorm(nn::Conv2D(w, 4, torch_conv(2, 1))), nn::LeakyReLU(0.2),
      nn::SpectralNorm(nn::Conv2D(2 * w, 4, torch_conv(2, 1))), nn::LeakyReLU(0.2),
      nn::SpectralNorm(nn::Conv2D(4 * w, 4, torch_conv(2, 1))), nn::LeakyReLU(0.2),
      nn::SpectralNorm(nn::Conv2D(1, 3, torch_conv(1, 0))), nn::Flatten());
  return a;
}

// vstark21/DCGANs on CIFAR-10 (seed 001): G 18,127,363 params, D 4,310,145; 32x32x3.
Architecture cifar(std::int64_t z) {
  return {"cifar", "vstark21/DCGANs, CIFAR-10 (seed 001)",
          nn::Sequential::named("generator",
              nn::Dense(4 * 4 * 1024), nn::BatchNorm(), nn::ReLU(), nn::Reshape({4, 4, 1024}),
              nn::Conv2DTranspose(512, 5, conv(2, "same")), nn::BatchNorm(), nn::ReLU(),
              nn::Conv2DTranspose(256, 5, conv(2, "same")), nn::BatchNorm(), nn::ReLU(),
              nn::Conv2DTranspose(3, 5, conv(2, "same", true, Activation::tanh))),
          nn::Sequential::named("discriminator",
              nn::Conv2D(64, 5, conv(2, "same")), nn::Dropout(0.3), nn::LeakyReLU(0.2),
              nn::Conv2D(128, 5, conv(2, "same")), nn::BatchNorm(), nn::Dropout(0.3), nn::LeakyReLU(0.2),
              nn::Conv2D(256, 5, conv(2, "same")), nn::BatchNorm(), nn::Dropout(0.3), nn::LeakyReLU(0.2),
              nn::Conv2D(512, 5, conv(2, "same")), nn::Dropout(0.4), nn::LeakyReLU(0.2),
              nn::Flatten(), nn::Dense(1)),
          {32, 32, 3}, z};
}

// feziodoshi/Deep-Convolutional-GAN (seed 004): G 328,737 params, D 3,265,409. G: a 56x56 map
// from the noise, then three 3x3 stride-2 convolutions, each after a normalization by fixed
// statistics (tf.nn.batch_normalization with mean 0, variance 0.02, epsilon 1e-5: a constant
// scale, as Rescaling), ReLU and, from the second on, TensorFlow 1's bilinear resize back to
// 56x56; a sigmoid output in [0, 1]. D: two 5x5 convolutions with ReLU and 2x2 average pooling,
// a 1024-unit layer, a logit. Truncated-normal weights (G 0.02, D 0.2), zero biases.
Architecture feziodoshi(std::int64_t z) {
  const nn::Initializer g_init = nn::init::truncated_normal(0.0, 0.02), d_init = nn::init::truncated_normal(0.0, 0.2);
  const double fixed_norm = 1.0 / std::sqrt(0.02 + 1e-5);
  const auto up = [] { return nn::UpSampling2D({2, 2}, nn::Interpolation::bilinear_tf1); };
  Architecture a{"feziodoshi", "feziodoshi/Deep-Convolutional-GAN (seed 004)",
                 nn::Sequential::named("generator",
                     nn::Dense(56 * 56, {.kernel_initializer = g_init}), nn::Reshape({56, 56, 1}),
                     nn::Rescaling(fixed_norm), nn::ReLU(),
                     nn::Conv2D(std::max<std::int64_t>(z / 2, 1), 3, conv(2, "same", true, Activation::linear, g_init)), nn::Rescaling(fixed_norm),
                     nn::ReLU(), up(),
                     nn::Conv2D(std::max<std::int64_t>(z / 4, 1), 3, conv(2, "same", true, Activation::linear, g_init)), nn::Rescaling(fixed_norm),
                     nn::ReLU(), up(),
                     nn::Conv2D(1, 3, conv(2, "same", true, Activation::sigmoid, g_init))),
                 nn::Sequential::named("discriminator",
                     nn::Conv2D(32, 5, conv(1, "same", true, Activation::relu, d_init)), nn::AveragePool2D(),
                     nn::Conv2D(64, 5, conv(1, "same", true, Activation::relu, d_init)), nn::AveragePool2D(),
                     nn::Flatten(), nn::Dense(1024, {.activation = Activation::relu, .kernel_initializer = d_init}),
                     nn::Dense(1, {.kernel_initializer = d_init})),
                 {28, 28, 1}, z};
  a.range = DataRange::unit;  // its noise, truncated normal, is the preset's --noise truncated
  return a;
}

}  // namespace

DataRange data_range_of(const std::string& name) {
  if (name == "-1,1") return DataRange::signed_unit;
  if (name == "0,1") return DataRange::unit;
  throw tape::ValueError("unknown data range '" + name + "' (-1,1 or 0,1)");
}

std::string name_of(DataRange range) { return range == DataRange::unit ? "0,1" : "-1,1"; }

tape::Tensor Architecture::to_signed(const tape::Tensor& images) const {
  return range == DataRange::unit ? images * 2.0 - 1.0 : images;
}

tape::Tensor Architecture::from_signed(const tape::Tensor& images) const {
  return range == DataRange::unit ? images * 0.5 + 0.5 : images;
}

const std::vector<std::string>& architecture_names() {
  static const std::vector<std::string> names{"tf-tutorial", "keras-small", "vstark21", "tf-gan", "libtorch", "mnist-fast", "mnist-lean", "mnist-fast-sn", "feziodoshi", "cifar"};
  return names;
}

NoisePrior noise_prior_of(const std::string& name) {
  if (name == "normal") return NoisePrior::normal;
  if (name == "uniform") return NoisePrior::uniform;
  if (name == "truncated") return NoisePrior::truncated;
  throw tape::ValueError("unknown noise prior '" + name + "' (normal, uniform, truncated)");
}

std::string name_of(NoisePrior prior) {
  return prior == NoisePrior::uniform ? "uniform" : prior == NoisePrior::truncated ? "truncated" : "normal";
}

tape::Tensor draw_noise(NoisePrior prior, std::int64_t n, std::int64_t z_dim, tape::Generator& gen) {
  // -> z [n, z_dim]
  switch (prior) {
    case NoisePrior::uniform: return tape::Tensor::uniform({n, z_dim}, gen, -1.0, 1.0);
    case NoisePrior::truncated: return tape::Tensor::truncated_normal({n, z_dim}, gen);
    case NoisePrior::normal: break;
  }
  return tape::Tensor::normal({n, z_dim}, gen);
}

namespace {

// The embedding size of a label in both conditions (the Keras conditional-GAN recipe's 50).
constexpr std::int64_t kLabelEmbedding = 50;

// `net` with a condition block in front: a Sequential of the same name whose first layer takes
// (input, labels) -> [the input, the embedded label] joined on the last axis; `label_map` turns the
// embedding into what is joined (nothing for G's vector; an image channel for D).
nn::Sequential with_condition(nn::Sequential& net, std::int64_t classes, nn::Sequential label_map) {
  auto condition = std::make_shared<nn::Functional>("condition");
  const auto x = condition->input(), label = condition->input();
  auto embedded = condition->apply(nn::Embedding(classes, kLabelEmbedding, {.name = "label_embedding"}), label);
  embedded = condition->apply_each(label_map, embedded);
  condition->output(condition->apply(nn::Concatenate(-1, "join"), {x, embedded}));
  nn::Sequential out = nn::Sequential::named(net.name());
  out.add(std::shared_ptr<nn::Module>(condition));
  for (const auto& layer : net.layers()) out.add(layer);
  return out;
}

void make_conditional(Architecture& a, std::int64_t classes) {
  const std::int64_t h = a.image_shape[0], w = a.image_shape[1];
  a.generator = with_condition(a.generator, classes, nn::Sequential());
  a.discriminator = with_condition(
      a.discriminator, classes,
      nn::Sequential(nn::Dense(h * w, {.name = "label_map"}), nn::Reshape({h, w, 1}, "label_channel")));
  a.classes = classes;
}

// Whether `layer` holds the weights of a logit (a Dense or convolution, bare or spectrally normalized).
bool is_weighted(const nn::Module& layer) {
  return dynamic_cast<const nn::KernelLayer*>(&layer) != nullptr || dynamic_cast<const nn::SpectralNorm*>(&layer) != nullptr;
}

// `net` (images -> logits [n, 1]) with InfoGAN's code head: a Sequential of the same name holding
// one two-headed block: the layers before net's last weighted one (the body), then net's own head
// (that layer and what follows: the logit) and beside it Flatten, Dense(codes) on the same
// features; the two joined -> [n, 1 + codes].
nn::Sequential with_code_head(nn::Sequential& net, std::int64_t codes) {
  const auto& layers = net.layers();
  std::size_t head = layers.size();
  while (head > 0 && !is_weighted(*layers[head - 1])) --head;
  if (head == 0) throw tape::ValueError("with_code_head: '" + net.name() + "' has no weighted layer to put a code head beside");
  nn::Sequential body, logit;  // unnamed: the block takes their layers as its own
  for (std::size_t i = 0; i < layers.size(); ++i) (i + 1 < head ? body : logit).add(layers[i]);
  auto heads = std::make_shared<nn::Functional>("heads");
  const auto features = heads->apply_each(body, heads->input());
  const auto real_fake = heads->apply_each(logit, features);
  const auto code = heads->apply(nn::Dense(codes, {.name = "code_logits"}), heads->apply(nn::Flatten("code_flatten"), features));
  heads->output(heads->apply(nn::Concatenate(-1, "join_heads"), {real_fake, code}));
  nn::Sequential out = nn::Sequential::named(net.name());
  out.add(std::shared_ptr<nn::Module>(heads));
  return out;
}

void make_info(Architecture& a, std::int64_t codes) {
  a.generator = with_condition(a.generator, codes, nn::Sequential());
  a.discriminator = with_code_head(a.discriminator, codes);
  a.codes = codes;
}

}  // namespace

tape::Tensor Architecture::sample_labels(std::int64_t n, tape::Generator& gen) const {
  // -> [n]
  if (!takes_labels()) return {};
  const std::int64_t count = label_count();
  std::vector<float> ids = tape::Tensor::uniform({n}, gen, 0.0, static_cast<double>(count)).to_vector<float>();
  for (float& id : ids) id = std::min(std::floor(id), static_cast<float>(count - 1));
  return tape::Tensor::from_vector(ids, tape::Shape{n});
}

tape::Tensor Architecture::cycle_labels(std::int64_t n, std::int64_t first) const {
  // -> [n]
  if (!takes_labels()) return {};
  const std::int64_t count = label_count();
  std::vector<float> ids;
  for (std::int64_t i = 0; i < n; ++i) ids.push_back(static_cast<float>((first + i) % count));
  return tape::Tensor::from_vector(ids, tape::Shape{n});
}

tape::Tensor Architecture::class_rows(std::int64_t per_row) const {
  // -> [label_count() * per_row]
  if (!takes_labels()) return {};
  const std::int64_t n = label_count() * per_row;
  std::vector<float> ids;
  for (std::int64_t i = 0; i < n; ++i) ids.push_back(static_cast<float>(i / per_row));
  return tape::Tensor::from_vector(ids, tape::Shape{n});
}

namespace {

void require_labels(const Architecture& a, const tape::Tensor& labels, const tape::Tensor& x, const char* net) {
  if (!labels.defined()) {
    throw tape::ValueError(std::string(net) + " of the " + (a.conditional() ? "conditional" : "InfoGAN") + " '" + a.name +
                           "' needs labels beside its input " + x.shape().to_string());
  }
}

}  // namespace

tape::Tensor Architecture::generate(nn::Module& g, const tape::Tensor& z, const tape::Tensor& labels, bool training) const {
  // z [n, z_dim] (, labels [n]) -> [n, H, W, C]
  if (!takes_labels()) return g(z, training);
  require_labels(*this, labels, z, "the generator");
  return g({z, labels}, training);
}

tape::Tensor Architecture::discriminate(const tape::Tensor& images, const tape::Tensor& labels, bool training) {
  // images [n, H, W, C] (, labels [n]) -> [n, 1]
  if (codes > 0) return discriminate_codes(images, training).logits;
  if (!conditional()) return discriminator(images, training);
  require_labels(*this, labels, images, "the discriminator");
  return discriminator({images, labels}, training);
}

Architecture::Heads Architecture::discriminate_codes(const tape::Tensor& images, bool training) {
  // images [n, H, W, C] -> logits [n, 1], code logits [n, codes]
  if (codes <= 0) throw tape::ValueError("discriminate_codes: '" + name + "' has no code head (train with --codes)");
  const tape::Tensor both = discriminator(images, training);  // [n, 1 + codes]
  if (both.rank() != 2 || both.dim(1) != 1 + codes) {
    throw tape::ShapeError("discriminate_codes: '" + name + "' gives " + both.shape().to_string() + ", expected [n, " +
                           std::to_string(1 + codes) + "]");
  }
  const std::int64_t n = both.dim(0);
  return {tape::slice(both, {0, 0}, {n, 1}), tape::slice(both, {0, 1}, {n, codes})};
}

Architecture make_architecture(const std::string& name, std::int64_t z_dim, std::uint64_t seed,
                               std::optional<DataRange> range, std::int64_t classes, std::int64_t codes) {
  if (z_dim < 1 || z_dim > kMaxZDim) {
    throw tape::ValueError("make_architecture: z_dim must be in [1, " + std::to_string(kMaxZDim) + "], got " + std::to_string(z_dim));
  }
  if (classes < 0 || classes > kMaxClasses) {
    throw tape::ValueError("make_architecture: classes must be in [0, " + std::to_string(kMaxClasses) + "], got " +
                           std::to_string(classes));
  }
  if (codes < 0 || codes == 1 || codes > kMaxClasses || (codes > 0 && classes > 0)) {
    throw tape::ValueError("make_architecture: codes must be 0 or in [2, " + std::to_string(kMaxClasses) +
                           "], and 0 for a conditional one, got " + std::to_string(codes) + " with " +
                           std::to_string(classes) + " classes");
  }
  // A conditional (or InfoGAN's) G's trunk takes z and the embedded label (or code) joined.
  const std::int64_t z = classes > 0 || codes > 0 ? z_dim + kLabelEmbedding : z_dim;
  Architecture a = name == "tf-tutorial"   ? tf_tutorial(z)
                   : name == "keras-small" ? keras_small(z)
                   : name == "vstark21"    ? vstark21(z)
                   : name == "tf-gan"      ? tf_gan(z)
                   : name == "libtorch"    ? libtorch(z)
                   : name == "mnist-fast"  ? libtorch(z, "mnist-fast", "libtorch's G, D at half width (for CPU throughput)", 32)
                   : name == "mnist-lean"  ? libtorch(z, "mnist-lean", "libtorch's D, G at half width (for CPU throughput)", 64, 32)
                   : name == "mnist-fast-sn" ? mnist_fast_sn(z)
                   : name == "feziodoshi"  ? feziodoshi(z)
                   : name == "cifar"       ? cifar(z)
                                           : throw tape::ValueError("unknown architecture '" + name +
                                                                    "' (tf-tutorial, keras-small, vstark21, tf-gan, libtorch, mnist-fast, mnist-lean, mnist-fast-sn, feziodoshi, cifar)");
  if (range && *range != a.range) {  // G's output mapped into the range asked for
    a.generator.add(*range == DataRange::unit ? nn::Rescaling(0.5, 0.5) : nn::Rescaling(2.0, -1.0));
    a.range = *range;
  }
  tape::Generator gen(seed);
  if (classes > 0) make_conditional(a, classes);
  else if (codes > 0) make_info(a, codes);
  // G first, then D, from the same generator
  if (a.takes_labels()) {
    a.z_dim = z_dim;
    a.generator.build_inputs({tape::Shape{z_dim}, tape::Shape{}}, gen);
  } else {
    a.generator.build({z_dim}, gen);
  }
  if (a.conditional()) a.discriminator.build_inputs({tape::Shape(a.image_shape), tape::Shape{}}, gen);
  else a.discriminator.build(tape::Shape(a.image_shape), gen);
  return a;
}

}  // namespace dcgan
