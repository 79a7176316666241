// Sample-quality evaluation of a DCGAN's generator: images drawn from it (noise options shared by
// `dcgan sample` and `dcgan eval`) and scored by tape::metrics' Evaluator.
#pragma once
#include <cstdint>

#include <tape/metrics/report.h>
#include <tape/nn/nn.h>

#include "architectures.h"

namespace dcgan {

using tape::metrics::Evaluator;
using tape::metrics::MetricsLog;
using tape::metrics::QualityReport;

// How images are drawn from a generator.
struct NoiseOptions {
  std::uint64_t seed = 0;
  bool batch_statistics = false;  // BatchNorm with the batch's statistics instead of the moving averages
  double truncation = 0;          // 0: z from the prior; t > 0: N(0, 1) redrawn until |z| <= t (the truncation trick)
};

// n images from the architecture's generator in batches of 500, its noise prior drawn as `noise` says
// (a truncation needs the normal prior: ValueError otherwise). A conditional architecture makes
// them for the classes `labels` [n], by default cycling through the classes (n / classes each);
// one with codes for the codes `labels`, by default drawn uniformly from the noise seed (as G saw
// them in training).
tape::Tensor generate_images(Architecture& arch, std::int64_t n, const NoiseOptions& noise, const tape::Tensor& labels = {});
// The same with another generator of the architecture's shapes (its weight average).
tape::Tensor generate_images(const Architecture& arch, tape::nn::Sequential& generator, std::int64_t n,
                             const NoiseOptions& noise, const tape::Tensor& labels = {});

// evaluator.n() images from `generator` (the architecture's, or its weight average), scored; for a
// conditional architecture made for each class in turn, with the label accuracy (codes: drawn).
QualityReport evaluate_generator(Evaluator& evaluator, const Architecture& arch, tape::nn::Sequential& generator,
                                 const NoiseOptions& noise);

}  // namespace dcgan
