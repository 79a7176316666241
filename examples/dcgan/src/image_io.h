// Pictures for the DCGAN example: sample grids, PNG and animated GIF files, and line plots.
// Files are written atomically (a temporary file beside the target, then rename); failures throw
// tape::IOError naming the file, bad arguments tape::ShapeError or tape::ValueError.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tape/tensor.h"

namespace dcgan {

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
// Writes `bytes` to `path` atomically (a temporary file beside it, then rename).
void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes);

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

// One line of a plot; x and y have equal lengths. Non-finite points are skipped and break the line.
struct Series {
  std::string label;
  std::vector<double> x, y;
};

struct PlotOptions {
  int width = 800, height = 450;
  std::string title, x_label, y_label;
};

// The color of the series at `index` in plots (10 distinct colors, then repeating).
std::array<std::uint8_t, 3> series_color(std::size_t index);

// Draws a line plot (RGB): axes with round-valued ticks, grid, title, axis labels, and a legend of
// the series with non-empty labels. Throws ValueError for mismatched x/y or a too small size.
Image render_line_plot(const std::vector<Series>& series, const PlotOptions& options);
// Writes render_line_plot(series, options) as a PNG file.
void plot_lines(const std::string& path, const std::vector<Series>& series, const PlotOptions& options);

}  // namespace dcgan
