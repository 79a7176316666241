// Tests for tape::io: make_grid geometry and pixel values, PNG and GIF files
// decoded with libpng and giflib (and Pillow when installed), line plots, atomic writes.
#include "support/temp_dir.h"
#include "support/test_support.h"

#include <gif_lib.h>
#include <png.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <tape/io/image.h>
#include <tape/io/plot.h>

namespace fs = std::filesystem;
using tape::io::Image;
using Bytes = std::vector<std::uint8_t>;

namespace {

using test::TempDir;

// The message of the E that f() throws (a test failure when it throws nothing).
template <class E, class F>
std::string thrown_message(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  FAIL("no exception was thrown");
  return {};
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_raw(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// Decodes PNG bytes with libpng's (simplified) reader into 8-bit gray or RGB.
Image decode_png(const Bytes& bytes) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  REQUIRE(png_image_begin_read_from_memory(&png, bytes.data(), bytes.size()) != 0);
  const bool color = (png.format & PNG_FORMAT_FLAG_COLOR) != 0;
  png.format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  Image image{static_cast<int>(png.width), static_cast<int>(png.height), color ? 3 : 1,
              Bytes(PNG_IMAGE_SIZE(png))};
  REQUIRE(png_image_finish_read(&png, nullptr, image.pixels.data(), 0, nullptr) != 0);
  return image;
}

// The IHDR's bit depth and color type (bytes 24 and 25 of a PNG file).
std::pair<int, int> png_depth_and_color_type(const Bytes& bytes) {
  REQUIRE(bytes.size() > 26);
  REQUIRE(std::memcmp(bytes.data() + 12, "IHDR", 4) == 0);
  return {bytes[24], bytes[25]};
}

struct DecodedGif {
  int width = 0, height = 0;
  std::vector<Image> frames;  // RGB, through each frame's color map
  std::vector<int> delays;
  bool loops_forever = false;
};

struct GifDeleter {
  void operator()(GifFileType* gif) const {
    int error = 0;
    DGifCloseFile(gif, &error);
  }
};

// Whether `blocks` hold NETSCAPE2.0 followed by a sub-block "1, loop count 0".
bool has_loop_extension(const ExtensionBlock* blocks, int count) {
  for (int i = 0; i + 1 < count; ++i)
    if (blocks[i].Function == APPLICATION_EXT_FUNC_CODE && blocks[i].ByteCount == 11 &&
        std::memcmp(blocks[i].Bytes, "NETSCAPE2.0", 11) == 0) {
      const ExtensionBlock& sub = blocks[i + 1];
      return sub.Function == CONTINUE_EXT_FUNC_CODE && sub.ByteCount == 3 && sub.Bytes[0] == 1 &&
             sub.Bytes[1] == 0 && sub.Bytes[2] == 0;
    }
  return false;
}

Image frame_to_rgb(const GifFileType* gif, const SavedImage& saved) {
  const GifImageDesc& d = saved.ImageDesc;
  REQUIRE(d.Left == 0);
  REQUIRE(d.Top == 0);
  REQUIRE(d.Width == gif->SWidth);
  REQUIRE(d.Height == gif->SHeight);
  const ColorMapObject* map = d.ColorMap != nullptr ? d.ColorMap : gif->SColorMap;
  REQUIRE(map != nullptr);
  Image rgb{d.Width, d.Height, 3, Bytes(static_cast<std::size_t>(d.Width) * d.Height * 3)};
  for (int i = 0; i < d.Width * d.Height; ++i) {
    const int index = saved.RasterBits[i];
    REQUIRE(index < map->ColorCount);
    const GifColorType c = map->Colors[index];
    rgb.pixels[i * 3] = c.Red, rgb.pixels[i * 3 + 1] = c.Green, rgb.pixels[i * 3 + 2] = c.Blue;
  }
  return rgb;
}

DecodedGif decode_gif(const std::string& path) {
  int error = 0;
  std::unique_ptr<GifFileType, GifDeleter> gif(DGifOpenFileName(path.c_str(), &error));
  INFO("giflib: " << GifErrorString(error));
  REQUIRE(gif != nullptr);
  REQUIRE(DGifSlurp(gif.get()) == GIF_OK);
  DecodedGif out;
  out.width = gif->SWidth, out.height = gif->SHeight;
  for (int i = 0; i < gif->ImageCount; ++i) {
    out.frames.push_back(frame_to_rgb(gif.get(), gif->SavedImages[i]));
    GraphicsControlBlock gcb{};
    REQUIRE(DGifSavedExtensionToGCB(gif.get(), i, &gcb) == GIF_OK);
    out.delays.push_back(gcb.DelayTime);
  }
  out.loops_forever = has_loop_extension(gif->ExtensionBlocks, gif->ExtensionBlockCount) ||
                      (gif->ImageCount > 0 && has_loop_extension(gif->SavedImages[0].ExtensionBlocks,
                                                                 gif->SavedImages[0].ExtensionBlockCount));
  return out;
}

Image gray_to_rgb(const Image& gray) {
  Image rgb{gray.width, gray.height, 3, {}};
  for (std::uint8_t v : gray.pixels) rgb.pixels.insert(rgb.pixels.end(), {v, v, v});
  return rgb;
}

// A gray or RGB image of deterministic pseudo-random pixels.
Image noise_image(int width, int height, int channels, unsigned seed) {
  Image image{width, height, channels, Bytes(static_cast<std::size_t>(width) * height * channels)};
  for (auto& p : image.pixels) {
    seed = seed * 1103515245u + 12345u;
    p = static_cast<std::uint8_t>(seed >> 16);
  }
  return image;
}

std::size_t count_color(const Image& image, std::array<std::uint8_t, 3> color) {
  std::size_t n = 0;
  for (std::size_t i = 0; i + 2 < image.pixels.size(); i += 3)
    n += image.pixels[i] == color[0] && image.pixels[i + 1] == color[1] && image.pixels[i + 2] == color[2];
  return n;
}

std::vector<tape::io::Series> three_series(bool labelled) {
  std::vector<tape::io::Series> series(3);
  for (int i = 0; i <= 200; ++i) {
    const double x = i * 5.0;
    series[0].x.push_back(x), series[0].y.push_back(0.7 + 0.5 * std::sin(i * 0.05));
    series[1].x.push_back(x), series[1].y.push_back(0.6 + 0.4 * std::cos(i * 0.07));
    series[2].x.push_back(x), series[2].y.push_back(i == 100 ? std::nan("") : 2.0 - i * 0.008);
  }
  if (labelled) series[0].label = "d_loss_real", series[1].label = "d_loss_fake", series[2].label = "g_loss";
  return series;
}

bool python_has_pil() { return std::system("/usr/bin/python3 -c 'import PIL' >/dev/null 2>&1") == 0; }

}  // namespace

// ------------------------------------------------------------------------------ make_grid

TEST_CASE("make_grid places tiles in rows of `columns` with a dark border", "[image]") {
  // Three 2x3 gray images: all -1, all 1, all 0.
  std::vector<float> values;
  for (float v : {-1.0f, 1.0f, 0.0f}) values.insert(values.end(), 6, v);
  const Image grid = tape::io::make_grid(tape::Tensor::from_vector(values, {3, 2, 3, 1}), 2, 1);
  REQUIRE(grid.width == 2 * (3 + 1) + 1);
  REQUIRE(grid.height == 2 * (2 + 1) + 1);
  REQUIRE(grid.channels == 1);

  Bytes expected(static_cast<std::size_t>(grid.width) * grid.height, tape::io::kGridBorderValue);
  const std::uint8_t tile_value[3] = {0, 255, 128};  // -1, 1 and 0 (127.5 rounds up)
  for (int i = 0; i < 3; ++i)
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 3; ++x) expected[(1 + (i / 2) * 3 + y) * grid.width + 1 + (i % 2) * 4 + x] = tile_value[i];
  REQUIRE(grid.pixels == expected);
  REQUIRE(int(grid.pixels[0]) == int(tape::io::kGridBorderValue));
  REQUIRE(int(grid.pixels[5 * grid.width + 6]) == int(tape::io::kGridBorderValue));  // the empty fourth tile
}

TEST_CASE("make_grid rounds and clamps values and keeps RGB interleaved", "[image]") {
  const float nan = std::nanf("");
  const auto images = tape::Tensor::from_vector(std::vector<float>{0.5f, -0.5f, 2.0f, -3.0f, nan, 1.0f / 255.0f}, {1, 1, 2, 3});
  const Image grid = tape::io::make_grid(images, 4, 0);
  REQUIRE(grid.width == 2);
  REQUIRE(grid.height == 1);
  REQUIRE(grid.channels == 3);
  // 191.25 -> 191, 63.75 -> 64, clamp high, clamp low, NaN -> 0, 128.0 -> 128.
  REQUIRE(grid.pixels == Bytes{191, 64, 255, 0, 0, 128});
}

TEST_CASE("make_grid upscales tiles by nearest neighbour and accepts float64", "[image]") {
  const auto images = tape::Tensor::from_vector(std::vector<double>{-1.0, 1.0, 1.0, -1.0}, {1, 2, 2, 1});
  const Image grid = tape::io::make_grid(images, 8, 1, 3);
  REQUIRE(grid.width == 1 + 6 + 1);  // one column: columns is capped at N
  REQUIRE(grid.height == 8);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 6; ++x) {
      INFO("x=" << x << " y=" << y);
      const bool white = (x / 3) != (y / 3);
      REQUIRE(int(grid.pixels[(1 + y) * grid.width + 1 + x]) == (white ? 255 : 0));
    }
}

TEST_CASE("make_grid rejects bad shapes and arguments", "[image]") {
  const auto rank3 = tape::Tensor::zeros({2, 28, 28});
  std::string msg = thrown_message<tape::ShapeError>([&] { tape::io::make_grid(rank3, 4); });
  CHECK_THAT(msg, Catch::Contains("make_grid") && Catch::Contains("[2, 28, 28]"));
  msg = thrown_message<tape::ShapeError>([&] { tape::io::make_grid(tape::Tensor::zeros({2, 4, 4, 2}), 4); });
  CHECK_THAT(msg, Catch::Contains("make_grid") && Catch::Contains("[2, 4, 4, 2]"));
  msg = thrown_message<tape::ShapeError>([&] { tape::io::make_grid(tape::Tensor::zeros({0, 4, 4, 1}), 4); });
  CHECK_THAT(msg, Catch::Contains("make_grid"));
  const auto ok = tape::Tensor::zeros({2, 4, 4, 1});
  CHECK_THROWS_AS(tape::io::make_grid(ok, 0), tape::ValueError);
  CHECK_THROWS_AS(tape::io::make_grid(ok, 2, -1), tape::ValueError);
  CHECK_THROWS_AS(tape::io::make_grid(ok, 2, 2, 0), tape::ValueError);
  CHECK_THROWS_AS(tape::io::make_grid(tape::Tensor(), 2), tape::ValueError);
}

// ------------------------------------------------------------------------------ PNG

TEST_CASE("encode_png round-trips gray and RGB pixels through libpng", "[image]") {
  for (int channels : {1, 3}) {
    INFO("channels=" << channels);
    const Image image = noise_image(7, 5, channels, 42u + channels);
    const Bytes png = tape::io::encode_png(image);
    const auto [depth, color_type] = png_depth_and_color_type(png);
    CHECK(depth == 8);
    CHECK(color_type == (channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB));
    const Image decoded = decode_png(png);
    REQUIRE(decoded.width == 7);
    REQUIRE(decoded.height == 5);
    REQUIRE(decoded.channels == channels);
    REQUIRE(decoded.pixels == image.pixels);
  }
}

TEST_CASE("encode_png rejects inconsistent images", "[image]") {
  Image image = noise_image(4, 4, 1, 1u);
  image.pixels.pop_back();
  CHECK_THAT(thrown_message<tape::ValueError>([&] { tape::io::encode_png(image); }), Catch::Contains("encode_png"));
  CHECK_THROWS_AS(tape::io::encode_png(Image{4, 4, 2, Bytes(32)}), tape::ValueError);
  CHECK_THROWS_AS(tape::io::encode_png(Image{0, 4, 1, {}}), tape::ValueError);
}

TEST_CASE("libpng errors become IOError without crossing libpng's frames", "[image]") {
  const Image too_wide{1000001, 1, 1, Bytes(1000001, 7)};  // beyond libpng's default width limit
  CHECK_THAT(thrown_message<tape::IOError>([&] { tape::io::encode_png(too_wide); }),
             Catch::Contains("encode_png") && Catch::Contains("libpng"));
  TempDir dir;
  const std::string path = dir.file("wide.png");
  CHECK_THAT(thrown_message<tape::IOError>([&] { tape::io::write_png(path, too_wide); }),
             Catch::Contains("write_png") && Catch::Contains(path) && Catch::Contains("libpng"));
  REQUIRE(dir.entries().empty());
  REQUIRE(decode_png(tape::io::encode_png(noise_image(2, 2, 1, 1u))).width == 2);  // still usable afterwards
}

TEST_CASE("write_png writes a decodable file atomically and replaces an old one", "[image]") {
  TempDir dir;
  const std::string path = dir.file("grid.png");
  const Image first = noise_image(9, 6, 3, 7u), second = noise_image(3, 2, 1, 8u);
  tape::io::write_png(path, first);
  REQUIRE(decode_png(read_file(path)).pixels == first.pixels);
  tape::io::write_png(path, second);
  const Image decoded = decode_png(read_file(path));
  REQUIRE(decoded.width == 3);
  REQUIRE(decoded.pixels == second.pixels);
  REQUIRE(dir.entries() == std::vector<std::string>{"grid.png"});  // no temporary files left
}

TEST_CASE("read_png reads back what write_png wrote and reports bad files", "[image]") {
  TempDir dir;
  for (int channels : {1, 3}) {
    const Image image = noise_image(6, 4, channels, 20u + channels);
    tape::io::write_png(dir.file("a.png"), image);
    const Image back = tape::io::read_png(dir.file("a.png"));
    REQUIRE(back.width == 6);
    REQUIRE(back.height == 4);
    REQUIRE(back.channels == channels);
    REQUIRE(back.pixels == image.pixels);
  }
  const std::string missing = dir.file("missing.png"), garbage = dir.file("garbage.png");
  CHECK_THAT(thrown_message<tape::IOError>([&] { tape::io::read_png(missing); }),
             Catch::Contains("read_png") && Catch::Contains(missing));
  write_raw(garbage, Bytes{'n', 'o', 't', ' ', 'a', ' ', 'p', 'n', 'g'});
  CHECK_THAT(thrown_message<tape::IOError>([&] { tape::io::read_png(garbage); }), Catch::Contains(garbage));
  Bytes truncated = tape::io::encode_png(noise_image(16, 16, 3, 9u));
  truncated.resize(truncated.size() / 2);
  write_raw(garbage, truncated);
  CHECK_THAT(thrown_message<tape::IOError>([&] { tape::io::read_png(garbage); }), Catch::Contains(garbage));
}

TEST_CASE("write_png errors name the file and leave no temporary files", "[image]") {
  TempDir dir;
  const Image image = noise_image(4, 4, 1, 3u);
  const std::string missing = dir.file("no/such/dir/out.png");
  CHECK_THAT(thrown_message<tape::IOError>([&] { tape::io::write_png(missing, image); }),
             Catch::Contains("write_png") && Catch::Contains(missing));
  REQUIRE(dir.entries().empty());

  // The target is a directory: the temporary file is written, the rename fails, it is removed.
  const std::string taken = dir.file("taken");
  fs::create_directory(taken);
  fs::create_directory(dir.file("taken/child"));
  CHECK_THAT(thrown_message<tape::IOError>([&] { tape::io::write_png(taken, image); }), Catch::Contains(taken));
  REQUIRE(dir.entries() == std::vector<std::string>{"taken"});
}

// ------------------------------------------------------------------------------ GIF

TEST_CASE("write_gif writes a looping gray animation that giflib decodes", "[image]") {
  TempDir dir;
  const std::string path = dir.file("progress.gif");
  const std::vector<Image> frames = {noise_image(5, 4, 1, 1u), noise_image(5, 4, 1, 2u), noise_image(5, 4, 1, 3u)};
  tape::io::write_gif(path, frames, 7);
  const DecodedGif gif = decode_gif(path);
  REQUIRE(gif.width == 5);
  REQUIRE(gif.height == 4);
  REQUIRE(gif.frames.size() == 3);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    INFO("frame " << i);
    REQUIRE(gif.frames[i].pixels == gray_to_rgb(frames[i]).pixels);  // exact: 256-level gray palette
    CHECK(gif.delays[i] == 7);
  }
  CHECK(gif.loops_forever);
  REQUIRE(dir.entries() == std::vector<std::string>{"progress.gif"});
}

TEST_CASE("write_gif without loop omits the NETSCAPE2.0 extension", "[image]") {
  TempDir dir;
  const std::string path = dir.file("once.gif");
  tape::io::write_gif(path, {noise_image(3, 3, 1, 5u)}, 50, false);
  const DecodedGif gif = decode_gif(path);
  REQUIRE(gif.frames.size() == 1);
  CHECK_FALSE(gif.loops_forever);
}

TEST_CASE("write_gif maps RGB frames onto a color cube", "[image]") {
  TempDir dir;
  const std::string path = dir.file("color.gif");
  // Cube corners survive exactly; any color lands within half a cube step per channel.
  Image corners{6, 1, 3, {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 255, 255, 0}};
  const Image noise = noise_image(6, 1, 3, 11u);
  const Image gray = noise_image(6, 1, 1, 12u);  // mixed with color frames: goes through the cube too
  tape::io::write_gif(path, {corners, noise, gray});
  const DecodedGif gif = decode_gif(path);
  REQUIRE(gif.frames.size() == 3);
  REQUIRE(gif.frames[0].pixels == corners.pixels);
  const Image gray_rgb = gray_to_rgb(gray);
  for (const auto& [decoded, original] : {std::pair{&gif.frames[1], &noise}, std::pair{&gif.frames[2], &gray_rgb}})
    for (std::size_t i = 0; i < original->pixels.size(); ++i) {
      const double half_step = 255.0 / (i % 3 == 1 ? 6 : 5) / 2;  // green has 7 levels
      INFO("byte " << i);
      REQUIRE(std::abs(int(decoded->pixels[i]) - int(original->pixels[i])) <= half_step + 0.5);
    }
}

TEST_CASE("write_gif rejects bad frames and reports write errors", "[image]") {
  TempDir dir;
  const Image a = noise_image(4, 4, 1, 1u), b = noise_image(5, 4, 1, 2u);
  CHECK_THAT(thrown_message<tape::ShapeError>([&] { tape::io::write_gif(dir.file("x.gif"), {a, b}); }),
             Catch::Contains("write_gif"));
  CHECK_THROWS_AS(tape::io::write_gif(dir.file("x.gif"), {}), tape::ValueError);
  CHECK_THROWS_AS(tape::io::write_gif(dir.file("x.gif"), {a}, -1), tape::ValueError);
  const std::string missing = dir.file("missing/x.gif");
  CHECK_THAT(thrown_message<tape::IOError>([&] { tape::io::write_gif(missing, {a}); }),
             Catch::Contains("write_gif") && Catch::Contains(missing));
  REQUIRE(dir.entries().empty());
}

// ------------------------------------------------------------------------------ plots

TEST_CASE("plot_lines writes a PNG of the requested size with every series drawn", "[image]") {
  TempDir dir;
  const std::string path = dir.file("losses.png");
  tape::io::PlotOptions options;
  options.width = 640, options.height = 360;
  options.title = "Losses", options.x_label = "step", options.y_label = "loss";
  tape::io::plot_lines(path, three_series(false), options);  // no labels: no legend, colors come from lines only
  const Image plot = decode_png(read_file(path));
  REQUIRE(plot.width == 640);
  REQUIRE(plot.height == 360);
  REQUIRE(plot.channels == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("series " << i);
    CHECK(count_color(plot, tape::io::series_color(i)) > 100);
  }
  CHECK(count_color(plot, {255, 255, 255}) > plot.pixels.size() / 3 / 2);  // mostly white background
  REQUIRE(dir.entries() == std::vector<std::string>{"losses.png"});
}

TEST_CASE("render_line_plot draws a legend for labelled series", "[image]") {
  const tape::io::PlotOptions options;
  const Image plain = tape::io::render_line_plot(three_series(false), options);
  const Image labelled = tape::io::render_line_plot(three_series(true), options);
  REQUIRE(labelled.width == 800);
  REQUIRE(labelled.height == 450);
  REQUIRE(plain.pixels != labelled.pixels);
  for (std::size_t i = 0; i < 3; ++i) CHECK(count_color(labelled, tape::io::series_color(i)) > 100);
  CHECK(tape::io::series_color(0) != tape::io::series_color(1));
  CHECK(tape::io::series_color(1) != tape::io::series_color(2));
}

TEST_CASE("render_line_plot handles degenerate data", "[image]") {
  const tape::io::PlotOptions options;
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  CHECK_NOTHROW(tape::io::render_line_plot({}, options));
  CHECK_NOTHROW(tape::io::render_line_plot({{"flat", {0, 1, 2}, {3, 3, 3}}}, options));
  CHECK_NOTHROW(tape::io::render_line_plot({{"dot", {5}, {-2}}}, options));
  CHECK_NOTHROW(tape::io::render_line_plot({{"bad", {nan, 1, inf}, {1, nan, 2}}}, options));
  CHECK_NOTHROW(tape::io::render_line_plot({{"huge", {0, 1e12}, {-1e-9, 1e-9}}}, options));
  CHECK_NOTHROW(tape::io::render_line_plot({{"extreme", {-1e308, 1e308}, {1e17, 1e17 + 1e5}}}, options));
  const Image dot = tape::io::render_line_plot({{"", {5}, {-2}}}, options);
  CHECK(count_color(dot, tape::io::series_color(0)) > 0);  // a lone point is still visible
}

TEST_CASE("plot_lines rejects mismatched series and tiny sizes", "[image]") {
  TempDir dir;
  const std::string path = dir.file("p.png");
  CHECK_THAT(thrown_message<tape::ValueError>([&] { tape::io::plot_lines(path, {{"g_loss", {1, 2}, {1}}}, {}); }),
             Catch::Contains("plot_lines") && Catch::Contains("g_loss"));
  tape::io::PlotOptions tiny;
  tiny.width = 20, tiny.height = 10;
  CHECK_THROWS_AS(tape::io::plot_lines(path, {}, tiny), tape::ValueError);
  REQUIRE(dir.entries().empty());
}

// ------------------------------------------------------------------------------ Pillow

TEST_CASE("Pillow decodes the PNG and GIF files", "[image][python]") {
  if (!python_has_pil()) {
    WARN("python3 with PIL is not available; skipping the independent decoder check");
    return;
  }
  TempDir dir;
  std::vector<float> values(2 * 3 * 4);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = -1.0f + 2.0f * static_cast<float>(i) / values.size();
  const Image grid = tape::io::make_grid(tape::Tensor::from_vector(values, {2, 3, 4, 1}), 2);
  tape::io::write_png(dir.file("grid.png"), grid);
  write_raw(dir.file("grid.raw"), grid.pixels);
  const std::vector<Image> frames = {noise_image(6, 5, 1, 1u), noise_image(6, 5, 1, 2u)};
  tape::io::write_gif(dir.file("anim.gif"), frames, 20);
  write_raw(dir.file("frame0.raw"), frames[0].pixels);
  write_raw(dir.file("frame1.raw"), frames[1].pixels);
  tape::io::plot_lines(dir.file("plot.png"), three_series(true), {});
  std::ofstream(dir.file("check.py")) << R"(import sys
from PIL import Image
d = sys.argv[1]
raw = lambda name: open(d + '/' + name, 'rb').read()
g = Image.open(d + '/grid.png')
assert g.mode == 'L' and g.size == ()" << grid.width << ", " << grid.height << R"(), (g.mode, g.size)
assert g.tobytes() == raw('grid.raw'), 'grid pixels differ'
a = Image.open(d + '/anim.gif')
assert a.n_frames == 2, a.n_frames
assert a.info.get('loop') == 0, a.info
for i in range(2):
    a.seek(i)
    assert a.info.get('duration') == 200, a.info
    assert a.convert('L').tobytes() == raw('frame%d.raw' % i), 'frame %d differs' % i
p = Image.open(d + '/plot.png')
assert p.mode == 'RGB' and p.size == (800, 450), (p.mode, p.size)
assert len(p.getcolors(1 << 20)) > 10, 'plot has too few colors'
print('PIL check ok')
)";
  const std::string command = "/usr/bin/python3 " + dir.file("check.py") + " " + dir.file("");
  REQUIRE(std::system(command.c_str()) == 0);
}
