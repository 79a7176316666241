// 8-bit pictures: sample grids of image tensors, PNG files (libpng) and animated GIFs (giflib).
// Files are written with write_file_atomically (atomic_file.h); failures throw tape::IOError naming
// the file, bad arguments tape::ShapeError or tape::ValueError.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tape/tensor.h"

namespace tape::io {

// An 8-bit picture: channels = 1 (gray) or 3 (RGB); pixels are row-major and interleaved,
// width * height * channels bytes.
struct Image {
  int width = 0, height = 0, channels = 0;
  std::vector<std::uint8_t> pixels;
};

// Gray level of the border between (and around) the tiles of make_grid.
inline constexpr std::uint8_t kGridBorderValue = 48;

// Tiles images [N, H, W, C] (values in [-1, 1], C = 1 or 3) into one picture of min(columns, N)
// columns and ceil(N / columns) rows, with `padding` border pixels around every tile; each tile is
// upscaled `scale` times (nearest neighbour). Pixel = clamp(round(x * 127.5 + 127.5), 0, 255);
// NaN becomes 0. Throws ShapeError for a bad shape, ValueError for bad columns/padding/scale.
Image make_grid(const tape::Tensor& images, int columns, int padding = 2, int scale = 1);

// images [N, H, W, C] in [-1, 1] -> N * H * W * C bytes, make_grid's pixel rule, in order.
std::vector<std::uint8_t> to_pixels(const tape::Tensor& images);

// PNG bytes (8-bit gray or RGB) of `image`. Throws ValueError for an inconsistent Image.
std::vector<std::uint8_t> encode_png(const Image& image);
// Writes encode_png(image) to `path` atomically.
void write_png(const std::string& path, const Image& image);
// Reads a PNG file as 8-bit gray (gray sources) or RGB (color sources; alpha is composited on
// black). Throws IOError naming the file when it cannot be read or decoded.
Image read_png(const std::string& path);

// Writes an animated GIF of `frames` (all the same size) shown in order, `delay_centiseconds`
// apart, looping forever when `loop` (NETSCAPE2.0 extension). All-gray frames use a 256-level gray
// palette; otherwise colors are rounded to a fixed 6x7x6 color cube.
void write_gif(const std::string& path, const std::vector<Image>& frames, int delay_centiseconds = 50,
               bool loop = true);

}  // namespace tape::io
