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
  // z [n, z_dim] from this architecture's prior.
  tape::Tensor sample_noise(std::int64_t n, tape::Generator& gen) const { return draw_noise(noise, n, z_dim, gen); }
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
Architecture make_architecture(const std::string& name, std::int64_t z_dim, std::uint64_t seed,
                               std::optional<DataRange> range = std::nullopt);

}  // namespace dcgan
