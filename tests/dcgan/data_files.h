// Test helpers of the DCGAN example's tests: the dataset-file writers of support/data_files.h, tiny
// synthetic MNIST runs, a bitwise checkpoint comparison and a tiny Fashion-MNIST configuration.
#pragma once
#include <cstdio>
#include <cstring>
#include <string>

#include <tape/nn/nn.h>

#include "support/data_files.h"
#include "support/test_support.h"
#include "trainer.h"

namespace test_files {

// n MNIST-shaped images (a bright square at a position that depends on i) with labels i % 10.
inline void write_tiny_mnist(const TempDir& dir, std::uint32_t n) {
  Bytes pixels(static_cast<std::size_t>(n) * 28 * 28, 0), labels(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    labels[i] = static_cast<std::uint8_t>(i % 10);
    const std::uint32_t r0 = 4 + (i * 3) % 16, c0 = 4 + (i * 7) % 16;
    for (std::uint32_t r = r0; r < r0 + 8; ++r)
      for (std::uint32_t c = c0; c < c0 + 8; ++c) pixels[(i * 28 + r) * 28 + c] = 255;
  }
  write_bytes(dir.file("train-images-idx3-ubyte"), idx_bytes(2051, {n, 28, 28}, pixels));
  write_bytes(dir.file("train-labels-idx1-ubyte"), idx_bytes(2049, {n}, labels));
}

inline dcgan::TrainConfig tiny_config(const TempDir& data, const std::string& out) {
  dcgan::TrainConfig c;
  c.data_dir = data.str();
  c.verify_checksums = false;  // synthetic files
  c.arch = "keras-small";
  c.batch = 8;
  c.steps = 6;
  c.out = out;
  c.samples = 4;
  c.checkpoint_every = 2;
  c.log_every = 100;
  c.seed = 7;
  return c;
}

// Two checkpoints hold the same tensors bit for bit, and the same generator states and step.
inline void require_same_tensors(const std::string& a, const std::string& b) {
  const auto fa = tape::nn::load_safetensors(a), fb = tape::nn::load_safetensors(b);
  REQUIRE(fa.tensors.size() == fb.tensors.size());
  for (const auto& [name, t] : fa.tensors) {
    INFO(name);
    REQUIRE(fb.tensors.count(name) == 1);
    const tape::Tensor& u = fb.tensors.at(name);
    REQUIRE(t.shape() == u.shape());
    REQUIRE(std::memcmp(t.raw_data(), u.raw_data(), static_cast<std::size_t>(t.numel()) * tape::element_size(t.dtype())) == 0);
  }
  for (const auto& [key, value] : fa.metadata) {
    if (key.rfind("rng/", 0) == 0 || key == "step" || key.find("iterations") != std::string::npos) {
      INFO(key);
      REQUIRE(fb.metadata.at(key) == value);
    }
  }
}

// Trains `c` (c.steps steps, a checkpoint at the last) into `whole`, then into `split` stopped
// after step 3 and resumed from there; requires both last checkpoints to be the same bit for bit
// and returns the whole run's. `c` is left as the resumed run's configuration.
inline std::string require_bit_exact_resume(dcgan::TrainConfig& c, const std::string& whole, const std::string& split) {
  c.out = whole;
  REQUIRE(dcgan::train(c) == 0);
  c.out = split;
  c.keep_going = [](std::int64_t step) { return step < 3; };
  REQUIRE(dcgan::train(c) == 0);
  c.keep_going = nullptr;
  c.resume = true;
  REQUIRE(dcgan::train(c) == 0);
  char name[48];
  std::snprintf(name, sizeof name, "/checkpoints/ckpt-%08lld.safetensors", static_cast<long long>(c.steps));
  require_same_tensors(whole + name, split + name);
  return whole + name;
}

// Two steps of keras-small on 64 Fashion-MNIST images into `out`.
inline dcgan::TrainConfig tiny_fashion_config(const std::string& out) {
  dcgan::TrainConfig c;
  c.dataset = "fashion-mnist";
  c.arch = "keras-small";
  c.batch = 16;
  c.steps = 2;
  c.max_images = 64;
  c.samples = 4;
  c.out = out;
  return c;
}

}  // namespace test_files
