// The DCGAN architectures the program trains: the five seed projects' generators and
// discriminators, built from tape::nn layers, with their data shapes and default settings.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <tape/nn/nn.h>

namespace dcgan {

// The noise G is fed: normal N(0, 1) (PyTorch's DCGAN, the TF tutorial), uniform U(-1, 1) (seed
// 003), truncated: N(0, 1) redrawn outside 2 sigma (seed 004's tf.truncated_normal).
enum class NoisePrior { normal, uniform, truncated };
NoisePrior noise_prior_of(const std::string& name);  // ValueError naming the choices
std::string name_of(NoisePrior prior);
// z [n, z_dim] drawn from `prior`.
tape::Tensor draw_noise(NoisePrior prior, std::int64_t n, std::int64_t z_dim, tape::Generator& gen);

// The pixel range of the images G makes and D sees: [-1, 1] (a tanh output, the datasets' own
// range) or [0, 1] (a sigmoid output, seed 004's).
enum class DataRange { signed_unit, unit };
DataRange data_range_of(const std::string& name);  // "-1,1" | "0,1"; ValueError naming the choices
std::string name_of(DataRange range);

struct Architecture {
  std::string name;
  std::string description;
  tape::nn::Sequential generator;      // z[B, z_dim] -> images[B, H, W, C] in `range`
  tape::nn::Sequential discriminator;  // images in `range` -> logits[B, 1]
  std::vector<std::int64_t> image_shape;  // {H, W, C}
  std::int64_t z_dim = 100;
  NoisePrior noise = NoisePrior::normal;
  DataRange range = DataRange::signed_unit;
  // Class-conditional when > 0 (dcgan train --conditional): G takes (z, labels) and D (images,
  // labels), labels [n] class ids in [0, classes) in a float tensor. Each net then starts with a
  // "condition" block (an nn::Functional of two inputs): G's embeds the label (Embedding(classes,
  // 50)) and concatenates it to z; D's maps the embedded label to one more image channel (Dense(H *
  // W), Reshape(H, W, 1)) beside the image's. The rest of both nets is the architecture's own.
  std::int64_t classes = 0;
  bool conditional() const { return classes > 0; }
  // z [n, z_dim] from this architecture's prior.
  tape::Tensor sample_noise(std::int64_t n, tape::Generator& gen) const { return draw_noise(noise, n, z_dim, gen); }
  // Labels [n] drawn uniformly from the classes; undefined (nothing drawn) when not conditional.
  tape::Tensor sample_labels(std::int64_t n, tape::Generator& gen) const;
  // Labels [n] cycling through the classes (0, 1, ..., classes - 1, 0, ...) from `first`;
  // undefined when not conditional.
  tape::Tensor cycle_labels(std::int64_t n, std::int64_t first = 0) const;
  // Labels [classes * per_row] of a grid with one class per row: 0 (per_row times), 1, ...;
  // undefined when not conditional.
  tape::Tensor class_rows(std::int64_t per_row) const;
  // G(z) [n, H, W, C], or G(z, labels) when conditional (ValueError when labels are missing), by
  // `generator`: this architecture's G or another of its shapes (its weight average).
  tape::Tensor generate(tape::nn::Module& g, const tape::Tensor& z, const tape::Tensor& labels, bool training) const;
  tape::Tensor generate(const tape::Tensor& z, const tape::Tensor& labels, bool training) {
    return generate(generator, z, labels, training);
  }
  // D(images) [n, 1], or D(images, labels) when conditional.
  tape::Tensor discriminate(const tape::Tensor& images, const tape::Tensor& labels, bool training);
  // Images in `range` -> [-1, 1] (what pictures and metrics take), and [-1, 1] -> `range` (the
  // datasets' images -> what D is trained on). The identity for [-1, 1].
  tape::Tensor to_signed(const tape::Tensor& images) const;
  tape::Tensor from_signed(const tape::Tensor& images) const;
};

// The names --arch accepts (tf-tutorial, keras-small, vstark21, tf-gan, libtorch, mnist-fast, ...).
const std::vector<std::string>& architecture_names();
// The largest noise dimension taken (a sanity bound for --z-dim and checkpoint metadata).
inline constexpr std::int64_t kMaxZDim = 4096;
// Builds (and initializes, from `seed`) the named architecture; throws tape::ValueError for an
// unknown name or a z_dim outside [1, kMaxZDim]. `range`: the pixel range to train in, when not
// the architecture's own: G's output is then mapped by a fixed Rescaling layer (tanh -> [0, 1]
// as x / 2 + 1/2, which is sigmoid(2a); sigmoid -> [-1, 1] as 2 x - 1).
// classes > 0: the class-conditional version (Architecture::classes), at most kMaxClasses.
inline constexpr std::int64_t kMaxClasses = 1000;
Architecture make_architecture(const std::string& name, std::int64_t z_dim, std::uint64_t seed,
                               std::optional<DataRange> range = std::nullopt, std::int64_t classes = 0);

}  // namespace dcgan
