// IDX, NumPy and PNG-folder files of image sets (see image_files.h).
#include "tape/io/image_files.h"

#include <cstdio>
#include <filesystem>
#include <vector>

#include "tape/error.h"
#include "tape/io/atomic_file.h"
#include "tape/io/image.h"

namespace tape::io {


namespace {

void check_images(const tape::Tensor& images, const char* op) {
  if (!images.defined() || images.rank() != 4 || images.dim(0) < 1) {
    throw tape::ShapeError(std::string(op) + ": expects images [N, H, W, C] with N >= 1, got " +
                           (images.defined() ? images.shape().to_string() : std::string("undefined")));
  }
}

// The image dims a file stores: C is dropped for gray images.
std::vector<std::int64_t> stored_dims(const tape::Tensor& images) {
  std::vector<std::int64_t> dims(images.shape().begin(), images.shape().end());
  if (dims.back() == 1) dims.pop_back();
  return dims;
}

void append_be32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

}  // namespace

// images [N, H, W, C] -> IDX u8 [N, H, W(, C)]
void write_idx_images(const std::string& path, const tape::Tensor& images) {
  check_images(images, "write_idx_images");
  const std::vector<std::int64_t> dims = stored_dims(images);
  std::vector<std::uint8_t> bytes{0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  for (std::int64_t d : dims) append_be32(bytes, static_cast<std::uint32_t>(d));
  const std::vector<std::uint8_t> pixels = to_pixels(images);
  bytes.insert(bytes.end(), pixels.begin(), pixels.end());
  write_file_atomically(path, bytes);
}

// images [N, H, W, C] -> .npy u8 (N, H, W(, C))
void write_npy_images(const std::string& path, const tape::Tensor& images) {
  check_images(images, "write_npy_images");
  std::string shape;  // numpy's own spelling: "(5, 28, 28)"
  for (std::int64_t d : stored_dims(images)) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
  std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': (" + shape + "), }";
  // magic (6) + version (2) + length (2) + header + '\n', padded with spaces to a multiple of 64
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  const std::string preamble = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size() & 0xFF) +
                               static_cast<char>(header.size() >> 8) + header;
  std::vector<std::uint8_t> bytes(preamble.begin(), preamble.end());
  const std::vector<std::uint8_t> pixels = to_pixels(images);
  bytes.insert(bytes.end(), pixels.begin(), pixels.end());
  write_file_atomically(path, bytes);
}

// images [N, H, W, C] -> one PNG each
void write_image_folder(const std::string& dir, const tape::Tensor& images, std::int64_t first_index) {
  check_images(images, "write_image_folder");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw tape::IOError("write_image_folder: cannot create folder '" + dir + "': " + ec.message());
  const std::int64_t n = images.dim(0), h = images.dim(1), w = images.dim(2), c = images.dim(3);
  const std::vector<std::uint8_t> pixels = to_pixels(images);
  const auto per_image = static_cast<std::size_t>(h * w * c);
  for (std::int64_t i = 0; i < n; ++i) {
    Image img{static_cast<int>(w), static_cast<int>(h), static_cast<int>(c), {}};
    img.pixels.assign(pixels.begin() + static_cast<std::ptrdiff_t>(i * per_image),
                      pixels.begin() + static_cast<std::ptrdiff_t>((i + 1) * per_image));
    char name[32];
    std::snprintf(name, sizeof name, "%05lld.png", static_cast<long long>(first_index + i));
    write_png((std::filesystem::path(dir) / name).string(), img);
  }
}

}  // namespace tape::io
