// Test helpers of the DCGAN example's tests: the dataset-file writers of support/data_files.h, tiny
// synthetic MNIST runs, a bitwise checkpoint comparison, bit-exact resume, the one-row-per-label
// checks of runs whose G takes labels, and a tiny Fashion-MNIST configuration.
#pragma once
#include <cstdio>
#include <cstring>
#include <string>

#include <tape/io/image.h>
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

// A run whose G takes labels (classes or codes: `meta_key`, 10 of them) and c.samples == 3:
// trains it whole and resumed (bit for bit), checks its grid has one row of 3 per label, the
// checkpoint's metadata, `dcgan sample`'s grid (25 images rounded up to 3 per label row) and a
// 4-cell walk; returns the step-c.steps checkpoint. `c` is left as the resumed run's.
inline std::string require_one_row_per_label(dcgan::TrainConfig& c, const TempDir& out, const std::string& meta_key) {
  const std::string whole = out.file("whole");
  const std::string checkpoint = require_bit_exact_resume(c, whole, out.file("split"));
  dcgan::sample(checkpoint, 25, {.seed = 1}, out.file("grid.png"));
  for (const std::string& png : {whole + "/samples/epoch_0001.png", out.file("grid.png")}) {
    INFO(png);
    const tape::io::Image grid = tape::io::read_png(png);
    CHECK(grid.width == 3 * 28 * 4 + 4 * 2);    // 3 per row, 4x tiles, 2-pixel borders
    CHECK(grid.height == 10 * 28 * 4 + 11 * 2);  // one row per label
  }
  REQUIRE(tape::nn::load_safetensors(checkpoint).metadata.at(meta_key) == "10");
  dcgan::InterpolateOptions walk;
  walk.checkpoint = checkpoint;
  walk.out = out.file("walk.gif");
  walk.cells = 4;
  walk.points = 2;
  walk.steps = 2;
  REQUIRE(dcgan::interpolate(walk) == 4);
  return checkpoint;
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

// G of an architecture that takes labels, on n noise vectors with labels 0 and then 7: both sets
// of images [n, 28, 28, 1], and they differ.
struct ZeroAndSeven {
  tape::Tensor z, zeros, sevens, g0, g7;
};
inline ZeroAndSeven generate_zeros_and_sevens(dcgan::Architecture& a, std::int64_t n) {
  tape::Generator gen(5);
  ZeroAndSeven r{a.sample_noise(n, gen), tape::Tensor::zeros({n}), tape::Tensor::full({n}, 7.0), {}, {}};
  r.g0 = a.generate(r.z, r.zeros, false);
  r.g7 = a.generate(r.z, r.sevens, false);
  REQUIRE(r.g0.shape() == tape::Shape{n, 28, 28, 1});
  REQUIRE(test::max_rel_diff(r.g0, r.g7) > 1e-4);
  return r;
}

}  // namespace test_files
