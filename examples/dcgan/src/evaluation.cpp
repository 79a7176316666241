// Sample-quality evaluation of a generator: images drawn from it, scored by tape::metrics.
#include "evaluation.h"

#include <algorithm>
#include <string>
#include <vector>

namespace dcgan {

namespace nn = tape::nn;
using tape::Tensor;

Tensor generate_images(const Architecture& arch, nn::Sequential& generator, std::int64_t n, const NoiseOptions& noise) {
  // z [n, z_dim] -> images [n, H, W, C] in [-1, 1], 500 at a time
  if (noise.truncation < 0) {
    throw tape::ValueError("generate_images: the truncation must be >= 0, got " + std::to_string(noise.truncation));
  }
  if (noise.truncation > 0 && arch.noise != NoisePrior::normal) {
    throw tape::ValueError("generate_images: a truncation needs the normal noise prior; " + arch.name + " was trained on " +
                           name_of(arch.noise));
  }
  tape::NoRecord no_record;
  tape::Generator gen(noise.seed);
  std::vector<Tensor> parts;
  for (std::int64_t done = 0; done < n; done += 500) {
    const std::int64_t b = std::min<std::int64_t>(500, n - done);
    const Tensor z = noise.truncation > 0
                         ? Tensor::truncated_normal({b, arch.z_dim}, gen, 0.0, 1.0, tape::DType::f32, noise.truncation)
                         : arch.sample_noise(b, gen);
    parts.push_back(arch.to_signed(generator(z, noise.batch_statistics)));  // [-1, 1] whatever G's range
  }
  return parts.size() == 1 ? parts[0] : tape::concat(parts, 0);
}

Tensor generate_images(Architecture& arch, std::int64_t n, const NoiseOptions& noise) {
  return generate_images(arch, arch.generator, n, noise);
}

QualityReport evaluate_generator(Evaluator& evaluator, const Architecture& arch, nn::Sequential& generator,
                                 const NoiseOptions& noise) {
  return evaluator.evaluate(generate_images(arch, generator, evaluator.n(), noise));
}

}  // namespace dcgan
