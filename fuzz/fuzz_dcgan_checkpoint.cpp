// Fuzz target: the dcgan program's reading of its own checkpoints: the resume position from the
// metadata (dcgan::resume_position, behind `dcgan train --resume`) and the generator with the
// architecture and z_dim the metadata names (dcgan::load_generator, behind sample and eval).
#include <cstdint>

#include "fuzz_support.h"
#include "trainer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tape::fuzz;
  const std::string path = write_scratch("ckpt-00000001.safetensors", data, size);
  expect_typed_errors([&] {
    const tape::nn::TensorFile file = tape::nn::load_safetensors(path);
    dcgan::resume_position(file.metadata, path, (scratch_dir() / "no-config.json").string(), 64);
  });
  expect_typed_errors([&] { dcgan::load_generator(path); });
  return 0;
}
