// The DCGAN architectures the program trains: the five seed projects' generators and
// discriminators, built from tape::nn layers, with their data shapes and default settings.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <tape/nn/nn.h>

namespace dcgan {

struct Architecture {
  std::string name;
  std::string description;
  tape::nn::Sequential generator;      // z[B, z_dim] -> images[B, H, W, C] in [-1, 1]
  tape::nn::Sequential discriminator;  // images -> logits[B, 1]
  std::vector<std::int64_t> image_shape;  // {H, W, C}
  std::int64_t z_dim = 100;
};

// The names --arch accepts: tf-tutorial, keras-small, vstark21, libtorch, mnist-fast, cifar.
const std::vector<std::string>& architecture_names();
// Builds (and initializes, from `seed`) the named architecture; throws tape::ValueError for an
// unknown name or a z_dim the architecture cannot take.
Architecture make_architecture(const std::string& name, std::int64_t z_dim, std::uint64_t seed);

}  // namespace dcgan
