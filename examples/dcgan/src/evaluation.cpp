// Sample-quality evaluation of a generator: images drawn from it, scored by tape::metrics.
#include "evaluation.h"

#include <algorithm>
#include <string>
#include <vector>

namespace dcgan {

namespace nn = tape::nn;
using tape::Tensor;

Tensor generate_images(nn::Sequential& generator, std::int64_t z_dim, std::int64_t n, const NoiseOptions& noise) {
  // z [n, z_dim] -> images [n, H, W, C], 500 at a time
  if (noise.truncation < 0) {
    throw tape::ValueError("generate_images: the truncation must be >= 0, got " + std::to_string(noise.truncation));
  }
  tape::NoRecord no_record;
  tape::Generator gen(noise.seed);
  std::vector<Tensor> parts;
  for (std::int64_t done = 0; done < n; done += 500) {
    const std::int64_t b = std::min<std::int64_t>(500, n - done);
    const Tensor z = noise.truncation > 0
                         ? Tensor::truncated_normal({b, z_dim}, gen, 0.0, 1.0, tape::DType::f32, noise.truncation)
                         : Tensor::normal({b, z_dim}, gen);
    parts.push_back(generator(z, noise.batch_statistics));
  }
  return parts.size() == 1 ? parts[0] : tape::concat(parts, 0);
}

QualityReport evaluate_generator(Evaluator& evaluator, nn::Sequential& generator, std::int64_t z_dim,
                                 const NoiseOptions& noise) {
  return evaluator.evaluate(generate_images(generator, z_dim, evaluator.n(), noise));
}

}  // namespace dcgan
