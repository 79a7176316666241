// Fuzz target: safetensors files and checkpoints (tape::nn::load_safetensors, then
// tape::nn::load_checkpoint into a model with BatchNorm, SpectralNorm, Adam and a generator).
#include <cstdint>

#include "fuzz_model.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tape::fuzz;
  const std::string path = write_scratch("ckpt.safetensors", data, size);
  expect_typed_errors([&] { tape::nn::load_safetensors(path); });
  FuzzModel m;
  expect_typed_errors([&] { tape::nn::load_checkpoint(path, m.model, &m.adam, {{"rng", &m.rng}}); });
  return 0;
}
