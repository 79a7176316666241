// Fuzz target: IDX image and label files, raw or gzipped (tape::data::load_idx_images and
// load_idx_pair). The input is one file; for the pair its first byte picks where it is cut into
// an image file and a label file.
#include <cstdint>

#include "fuzz_support.h"
#include "tape/data/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tape::fuzz;
  const std::string whole = write_scratch("images.idx", data, size);
  expect_typed_errors([&] { tape::data::load_idx_images(whole); });
  if (size < 1) return 0;
  const std::size_t cut = 1 + (size - 1) * data[0] / 255;  // in [1, size]
  const std::string images = write_scratch("pair-images.idx", data + 1, cut - 1);
  const std::string labels = write_scratch("pair-labels.idx", data + cut, size - cut);
  expect_typed_errors([&] { tape::data::load_idx_pair(images, labels); });
  return 0;
}
