// Image sets as IDX, NumPy and PNG-folder files: the exact bytes of the headers, the pixels in
// order, gray images stored without their channel dimension, and the errors.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <tape/io/image.h>
#include <tape/io/image_files.h>

#include "support/temp_dir.h"

namespace {

using Bytes = std::vector<std::uint8_t>;
using test::TempDir;

Bytes file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// 3 images [3, 2, 2, C] with values spread over [-1, 1].
tape::Tensor images(std::int64_t channels) {
  std::vector<float> v(static_cast<std::size_t>(3 * 2 * 2 * channels));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = -1.0f + 2.0f * static_cast<float>(i) / static_cast<float>(v.size() - 1);
  return tape::Tensor::from_vector(v, {3, 2, 2, channels});
}

}  // namespace

TEST_CASE("write_idx_images stores u8 pixels after MNIST's header, C dropped for gray images", "[image][files]") {
  TempDir dir;
  for (const std::int64_t c : {1, 3}) {
    INFO("channels " << c);
    const std::string path = dir.file("x" + std::to_string(c) + ".idx");
    tape::io::write_idx_images(path, images(c));
    const Bytes bytes = file_bytes(path);
    const Bytes header = c == 1 ? Bytes{0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2}
                                : Bytes{0, 0, 8, 4, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3};
    REQUIRE(Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(header.size())) == header);
    REQUIRE(Bytes(bytes.begin() + static_cast<std::ptrdiff_t>(header.size()), bytes.end()) == tape::io::to_pixels(images(c)));
  }
}

TEST_CASE("write_npy_images writes NumPy 1.0 with a 64-byte aligned header", "[image][files]") {
  TempDir dir;
  const std::string path = dir.file("x.npy");
  tape::io::write_npy_images(path, images(1));
  const Bytes bytes = file_bytes(path);
  REQUIRE(std::string(bytes.begin(), bytes.begin() + 8) == std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t header = 10 + (bytes[8] | bytes[9] << 8);
  REQUIRE(header % 64 == 0);
  const std::string dict(bytes.begin() + 10, bytes.begin() + static_cast<std::ptrdiff_t>(header));
  CHECK(dict.find("{'descr': '|u1', 'fortran_order': False, 'shape': (3, 2, 2), }") == 0);
  CHECK(dict.back() == '\n');
  REQUIRE(Bytes(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end()) == tape::io::to_pixels(images(1)));
}

TEST_CASE("write_image_folder numbers the PNGs from first_index", "[image][files]") {
  TempDir dir;
  const std::string folder = dir.file("set/inner");
  tape::io::write_image_folder(folder, images(3), 7);
  for (const char* name : {"00007.png", "00008.png", "00009.png"}) CHECK(std::filesystem::exists(folder + "/" + name));
  CHECK_FALSE(std::filesystem::exists(folder + "/00010.png"));
  const tape::io::Image last = tape::io::read_png(folder + "/00009.png");
  const Bytes pixels = tape::io::to_pixels(images(3));
  CHECK(last.channels == 3);
  CHECK(last.pixels == Bytes(pixels.end() - 12, pixels.end()));
}

TEST_CASE("the image-set writers refuse anything but [N, H, W, C] with N >= 1", "[image][files]") {
  TempDir dir;
  const tape::Tensor flat = tape::Tensor::zeros({4, 4});
  CHECK_THROWS_AS(tape::io::write_idx_images(dir.file("a.idx"), flat), tape::ShapeError);
  CHECK_THROWS_AS(tape::io::write_npy_images(dir.file("a.npy"), tape::Tensor()), tape::ShapeError);
  CHECK_THROWS_AS(tape::io::write_image_folder(dir.file("f"), tape::Tensor::zeros({0, 2, 2, 1})), tape::ShapeError);
  CHECK_THROWS_AS(tape::io::write_idx_images(dir.file("missing/a.idx"), images(1)), tape::IOError);
}
