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
  // InfoGAN's categorical latent code when > 0 (dcgan train --codes): G takes (z, code) through
  // the same condition block as a conditional G, code [n] in [0, codes) drawn uniformly (no
  // dataset labels); D sees the image alone and has a second head beside its logit, code logits
  // [n, codes] (Flatten, Dense(codes) on the features its own last layer takes), trained to tell
  // which code made a fake. Not together with classes.
  std::int64_t codes = 0;
  // Whether G takes labels beside z (class ids or codes), and how many there are.
  bool takes_labels() const { return classes > 0 || codes > 0; }
  std::int64_t label_count() const { return classes > 0 ? classes : codes; }
  // z [n, z_dim] from this architecture's prior.
  tape::Tensor sample_noise(std::int64_t n, tape::Generator& gen) const { return draw_noise(noise, n, z_dim, gen); }
  // Labels [n] (classes or codes) drawn uniformly; undefined (nothing drawn) when G takes none.
  tape::Tensor sample_labels(std::int64_t n, tape::Generator& gen) const;
  // Labels [n] cycling through the classes or codes (0, 1, ..., label_count() - 1, 0, ...) from
  // `first`; undefined when G takes none.
  tape::Tensor cycle_labels(std::int64_t n, std::int64_t first = 0) const;
  // Labels [label_count() * per_row] of a grid with one class or code per row: 0 (per_row times),
  // 1, ...; undefined when G takes none.
  tape::Tensor class_rows(std::int64_t per_row) const;
  // G(z) [n, H, W, C], or G(z, labels) when it takes labels (ValueError when they are missing), by
  // `generator`: this architecture's G or another of its shapes (its weight average).
  tape::Tensor generate(tape::nn::Module& g, const tape::Tensor& z, const tape::Tensor& labels, bool training) const;
  tape::Tensor generate(const tape::Tensor& z, const tape::Tensor& labels, bool training) {
    return generate(generator, z, labels, training);
  }
  // D(images) [n, 1], or D(images, labels) when conditional (with codes: the logit head's column).
  tape::Tensor discriminate(const tape::Tensor& images, const tape::Tensor& labels, bool training);
  // With codes: D's two heads on images [n, H, W, C]: logits [n, 1] and code logits [n, codes]
  // (ValueError without codes).
  struct Heads {
    tape::Tensor logits, code_logits;
  };
  Heads discriminate_codes(const tape::Tensor& images, bool training);
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
// classes > 0: the class-conditional version (Architecture::classes), at most kMaxClasses;
// codes > 0: InfoGAN's (Architecture::codes), at most kMaxClasses; not both.
inline constexpr std::int64_t kMaxClasses = 1000;
Architecture make_architecture(const std::string& name, std::int64_t z_dim, std::uint64_t seed,
                               std::optional<DataRange> range = std::nullopt, std::int64_t classes = 0,
                               std::int64_t codes = 0);

}  // namespace dcgan
