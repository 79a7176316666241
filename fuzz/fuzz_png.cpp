// Fuzz target: PNG files read by tape::io::read_png (libpng underneath, our checks around it).
#include <cstdint>

#include "fuzz_support.h"
#include "tape/io/image.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tape::fuzz;
  const std::string path = write_scratch("image.png", data, size);
  expect_typed_errors([&] { tape::io::read_png(path); });
  return 0;
}
