// Sample-quality evaluation of a DCGAN's generator: images drawn from it (noise options shared by
// `dcgan sample` and `dcgan eval`) and scored by tape::metrics' Evaluator.
#pragma once
#include <cstdint>

#include <tape/metrics/report.h>
#include <tape/nn/nn.h>

namespace dcgan {

using tape::metrics::Evaluator;
using tape::metrics::MetricsLog;
using tape::metrics::QualityReport;

// How images are drawn from a generator.
struct NoiseOptions {
  std::uint64_t seed = 0;
  bool batch_statistics = false;  // BatchNorm with the batch's statistics instead of the moving averages
  double truncation = 0;          // 0: z ~ N(0, 1); t > 0: each z redrawn until |z| <= t (the truncation trick)
};

// n images from `generator` in batches of 500, noise drawn as `noise` says.
tape::Tensor generate_images(tape::nn::Sequential& generator, std::int64_t z_dim, std::int64_t n,
                             const NoiseOptions& noise);

// evaluator.n() images from `generator`, scored.
QualityReport evaluate_generator(Evaluator& evaluator, tape::nn::Sequential& generator, std::int64_t z_dim,
                                 const NoiseOptions& noise);

}  // namespace dcgan
