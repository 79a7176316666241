// Sample-quality evaluation of a generator: images drawn from it, scored by tape::metrics.
#include "evaluation.h"

#include <algorithm>
#include <string>
#include <vector>

namespace dcgan {

namespace nn = tape::nn;
using tape::Tensor;

namespace {

// With codes: G's codes for n images, drawn uniformly as in training (from their own generator,
// so the noise is the same as without codes); undefined without.
Tensor random_codes(const Architecture& arch, std::int64_t n, std::uint64_t seed) {
  // -> [n]
  tape::Generator gen(seed ^ 0xC0DE5C0DE5ull);
  return arch.sample_labels(n, gen);
}

}  // namespace

Tensor generate_images(const Architecture& arch, nn::Sequential& generator, std::int64_t n, const NoiseOptions& noise,
                       const Tensor& labels) {
  // z [n, z_dim] (, labels [n]) -> images [n, H, W, C] in [-1, 1], 500 at a time
  if (noise.truncation < 0) {
    throw tape::ValueError("generate_images: the truncation must be >= 0, got " + std::to_string(noise.truncation));
  }
  if (noise.truncation > 0 && arch.noise != NoisePrior::normal) {
    throw tape::ValueError("generate_images: a truncation needs the normal noise prior; " + arch.name + " was trained on " +
                           name_of(arch.noise));
  }
  if (labels.defined() && (labels.rank() != 1 || labels.dim(0) != n)) {
    throw tape::ShapeError("generate_images: labels " + labels.shape().to_string() + " for " + std::to_string(n) + " images");
  }
  tape::NoRecord no_record;
  tape::Generator gen(noise.seed);
  const Tensor classes = labels.defined() ? labels : arch.conditional() ? arch.cycle_labels(n) : random_codes(arch, n, noise.seed);
  std::vector<Tensor> parts;
  for (std::int64_t done = 0; done < n; done += 500) {
    const std::int64_t b = std::min<std::int64_t>(500, n - done);
    const Tensor z = noise.truncation > 0
                         ? Tensor::truncated_normal({b, arch.z_dim}, gen, 0.0, 1.0, tape::DType::f32, noise.truncation)
                         : arch.sample_noise(b, gen);
    const Tensor y = classes.defined() ? tape::slice(classes, {done}, {b}) : Tensor();
    parts.push_back(arch.to_signed(arch.generate(generator, z, y, noise.batch_statistics)));  // [-1, 1] whatever G's range
  }
  return parts.size() == 1 ? parts[0] : tape::concat(parts, 0);
}

Tensor generate_images(Architecture& arch, std::int64_t n, const NoiseOptions& noise, const Tensor& labels) {
  return generate_images(arch, arch.generator, n, noise, labels);
}

QualityReport evaluate_generator(Evaluator& evaluator, const Architecture& arch, nn::Sequential& generator,
                                 const NoiseOptions& noise) {
  const Tensor labels = arch.conditional() ? arch.cycle_labels(evaluator.n()) : Tensor();  // with codes: drawn
  const Tensor images = generate_images(arch, generator, evaluator.n(), noise, labels);
  if (!labels.defined()) return evaluator.evaluate(images);
  std::vector<int> ids;
  for (float id : labels.to_vector<float>()) ids.push_back(static_cast<int>(id));
  return evaluator.evaluate(images, ids);
}

}  // namespace dcgan
