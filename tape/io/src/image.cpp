// Pictures: sample grids, PNG (libpng) and animated GIF (giflib) encoding and files.
// libpng reports errors by longjmp: the error handler records the message and jumps back to a
// setjmp in a function holding only trivially destructible locals; the exception is thrown after.
#include "tape/io/image.h"

#include <gif_lib.h>
#include <png.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <limits>
#include <memory>

#include "image_detail.h"
#include "tape/error.h"
#include "tape/io/atomic_file.h"

namespace tape::io {
namespace detail {

std::string quoted(const std::string& s) { return "'" + s + "'"; }

void io_fail(const char* op, const std::string& path, const std::string& what) {
  throw tape::IOError(std::string(op) + ": cannot write " + quoted(path) + ": " + what);
}

void value_fail(const char* op, const std::string& what) { throw tape::ValueError(std::string(op) + ": " + what); }

}  // namespace detail

namespace {

using detail::io_fail;
using detail::quoted;
using detail::value_fail;
using Bytes = std::vector<std::uint8_t>;

std::string size_string(const Image& image) {
  return std::to_string(image.width) + "x" + std::to_string(image.height) + "x" + std::to_string(image.channels);
}

// Throws ValueError naming `op` unless `image` is a consistent gray or RGB picture.
void check_image(const Image& image, const char* op, const std::string& what = "image") {
  if (image.channels != 1 && image.channels != 3)
    value_fail(op, what + " must have 1 or 3 channels, got " + std::to_string(image.channels));
  if (image.width <= 0 || image.height <= 0) value_fail(op, what + " is empty (" + size_string(image) + ")");
  const std::size_t expected =
      static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) * image.channels;
  if (image.pixels.size() != expected)
    value_fail(op, what + " is " + size_string(image) + " = " + std::to_string(expected) + " bytes, but has " +
                       std::to_string(image.pixels.size()) + " pixel bytes");
}

// ------------------------------------------------------------------------------ make_grid

std::uint8_t to_pixel(float x) {
  if (std::isnan(x)) return 0;
  const double v = std::clamp(static_cast<double>(x) * 127.5 + 127.5, 0.0, 255.0);
  return static_cast<std::uint8_t>(std::lround(v));
}

void check_grid_arguments(const tape::Tensor& images, int columns, int padding, int scale) {
  constexpr const char* op = "make_grid";
  if (!images.defined()) value_fail(op, "images is undefined");
  const tape::Shape& shape = images.shape();
  if (shape.rank() != 4 || (shape[3] != 1 && shape[3] != 3))
    throw tape::ShapeError("make_grid: expected images [N, H, W, C] with C = 1 or 3; images=" + shape.to_string());
  if (shape.numel() == 0) throw tape::ShapeError("make_grid: images is empty; images=" + shape.to_string());
  if (columns < 1) value_fail(op, "columns must be at least 1, got " + std::to_string(columns));
  if (padding < 0) value_fail(op, "padding must not be negative, got " + std::to_string(padding));
  if (scale < 1) value_fail(op, "scale must be at least 1, got " + std::to_string(scale));
}

// Width or height of a grid of `tiles` tiles of `extent` pixels; ValueError when it is huge.
int grid_extent(std::int64_t tiles, std::int64_t extent, int scale, int padding) {
  const std::int64_t n = tiles * (extent * scale + padding) + padding;
  if (n > (1 << 16)) value_fail("make_grid", "the grid would be " + std::to_string(n) + " pixels across");
  return static_cast<int>(n);
}

// Copies one [H, W, C] image into `grid` with its top-left corner at (x0, y0), upscaled `scale` times.
void place_tile(Image& grid, const float* src, int h, int w, int x0, int y0, int scale) {
  const int c = grid.channels;
  for (int y = 0; y < h * scale; ++y) {
    std::uint8_t* dst = grid.pixels.data() + (static_cast<std::size_t>(y0 + y) * grid.width + x0) * c;
    const float* row = src + static_cast<std::size_t>(y / scale) * w * c;
    for (int x = 0; x < w * scale; ++x)
      for (int k = 0; k < c; ++k) dst[x * c + k] = to_pixel(row[(x / scale) * c + k]);
  }
}

// ------------------------------------------------------------------------------ PNG

// What the libpng callbacks share with encode_png_into (plain data: it crosses longjmp).
struct PngSink {
  Bytes* out;
  char error[256];
};

void png_on_error(png_structp png, png_const_charp message) {
  auto* sink = static_cast<PngSink*>(png_get_error_ptr(png));
  std::snprintf(sink->error, sizeof sink->error, "libpng: %s", message);
  png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}

void png_on_write(png_structp png, png_bytep data, png_size_t n) {
  auto* sink = static_cast<PngSink*>(png_get_io_ptr(png));
  bool ok = true;
  try {
    sink->out->insert(sink->out->end(), data, data + n);
  } catch (...) {  // no exception may cross libpng's C frames
    ok = false;
  }
  if (!ok) png_error(png, "out of memory");
}

void png_on_flush(png_structp) {}

// Encodes `image` into sink->out; false (with sink->error set) on failure. Only trivially
// destructible locals live in this frame, so the longjmp from png_on_error skips no destructors.
bool encode_png_into(const Image& image, PngSink* sink) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, sink, png_on_error, png_on_warning);
  if (png == nullptr) {
    std::snprintf(sink->error, sizeof sink->error, "libpng: cannot create a writer");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    std::snprintf(sink->error, sizeof sink->error, "libpng: cannot create an info struct");
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, sink, png_on_write, png_on_flush);
  const int color_type = image.channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB;
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width), static_cast<png_uint_32>(image.height), 8,
               color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  const std::size_t stride = static_cast<std::size_t>(image.width) * image.channels;
  for (int y = 0; y < image.height; ++y) png_write_row(png, image.pixels.data() + y * stride);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

// ------------------------------------------------------------------------------ GIF

constexpr int kCubeLevels[3] = {6, 7, 6};  // red, green, blue levels of the color cube

int cube_level(std::uint8_t v, int levels) { return static_cast<int>(std::lround(v * (levels - 1) / 255.0)); }

std::uint8_t cube_index(std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  const int index = (cube_level(r, kCubeLevels[0]) * kCubeLevels[1] + cube_level(g, kCubeLevels[1])) * kCubeLevels[2] +
                    cube_level(b, kCubeLevels[2]);
  return static_cast<std::uint8_t>(index);
}

// 256 entries: a gray ramp, or the 6x7x6 cube (252 colors) followed by black.
std::vector<GifColorType> gif_palette(bool gray) {
  std::vector<GifColorType> palette(256, GifColorType{0, 0, 0});
  auto level = [](int i, int levels) { return static_cast<GifByteType>(std::lround(i * 255.0 / (levels - 1))); };
  for (int i = 0; i < 256; ++i) {
    if (gray) {
      palette[i] = GifColorType{GifByteType(i), GifByteType(i), GifByteType(i)};
    } else if (i < kCubeLevels[0] * kCubeLevels[1] * kCubeLevels[2]) {
      const int b = i % kCubeLevels[2], g = (i / kCubeLevels[2]) % kCubeLevels[1],
                r = i / (kCubeLevels[2] * kCubeLevels[1]);
      palette[i] = GifColorType{level(r, kCubeLevels[0]), level(g, kCubeLevels[1]), level(b, kCubeLevels[2])};
    }
  }
  return palette;
}

// Palette indices of `frame`: gray levels themselves, or color cube entries.
Bytes palette_indices(const Image& frame, bool gray) {
  if (gray) return frame.pixels;
  const std::size_t n = static_cast<std::size_t>(frame.width) * frame.height;
  const int c = frame.channels;
  Bytes indices(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* p = frame.pixels.data() + i * c;
    indices[i] = c == 1 ? cube_index(p[0], p[0], p[0]) : cube_index(p[0], p[1], p[2]);
  }
  return indices;
}

int gif_on_write(GifFileType* gif, const GifByteType* data, int n) {
  auto* out = static_cast<Bytes*>(gif->UserData);
  try {
    out->insert(out->end(), data, data + n);
    return n;
  } catch (...) {  // a short write makes giflib report E_GIF_ERR_WRITE_FAILED
    return 0;
  }
}

struct GifCloser {
  void operator()(GifFileType* gif) const {
    int error = 0;
    EGifCloseFile(gif, &error);
  }
};
struct ColorMapFreer {
  void operator()(ColorMapObject* map) const { GifFreeMapObject(map); }
};

// Streams a GIF into memory; every giflib failure becomes an IOError naming `path`.
class GifEncoder {
 public:
  GifEncoder(Bytes& out, const std::string& path) : path_(path) {
    int error = 0;
    gif_.reset(EGifOpen(&out, gif_on_write, &error));
    if (!gif_) fail(error);
    EGifSetGifVersion(gif_.get(), true);
  }

  void put_screen(int width, int height, bool gray) {
    const std::vector<GifColorType> palette = gif_palette(gray);
    std::unique_ptr<ColorMapObject, ColorMapFreer> map(GifMakeMapObject(256, palette.data()));
    if (!map) fail(E_GIF_ERR_NOT_ENOUGH_MEM);
    check(EGifPutScreenDesc(gif_.get(), width, height, 8, 0, map.get()));
  }

  // NETSCAPE2.0 application extension: loop forever.
  void put_loop_extension() {
    static constexpr GifByteType kApplication[] = {'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E', '2', '.', '0'};
    static constexpr GifByteType kLoopForever[] = {1, 0, 0};
    check(EGifPutExtensionLeader(gif_.get(), APPLICATION_EXT_FUNC_CODE));
    check(EGifPutExtensionBlock(gif_.get(), sizeof kApplication, kApplication));
    check(EGifPutExtensionBlock(gif_.get(), sizeof kLoopForever, kLoopForever));
    check(EGifPutExtensionTrailer(gif_.get()));
  }

  void put_frame(Bytes& indices, int width, int height, int delay_centiseconds) {
    GraphicsControlBlock gcb{DISPOSE_DO_NOT, false, delay_centiseconds, NO_TRANSPARENT_COLOR};
    GifByteType extension[4];
    const auto length = static_cast<int>(EGifGCBToExtension(&gcb, extension));
    check(EGifPutExtension(gif_.get(), GRAPHICS_EXT_FUNC_CODE, length, extension));
    check(EGifPutImageDesc(gif_.get(), 0, 0, width, height, false, nullptr));
    for (int y = 0; y < height; ++y)
      check(EGifPutLine(gif_.get(), indices.data() + static_cast<std::size_t>(y) * width, width));
  }

  // Writes the trailer and releases giflib's state.
  void finish() {
    int error = 0;
    if (EGifCloseFile(gif_.release(), &error) == GIF_ERROR) fail(error);
  }

 private:
  [[noreturn]] void fail(int error) const {
    io_fail("write_gif", path_, std::string("giflib: ") + GifErrorString(error));
  }
  void check(int rc) const {
    if (rc == GIF_ERROR) fail(gif_->Error);
  }
  std::string path_;
  std::unique_ptr<GifFileType, GifCloser> gif_;
};

void check_frames(const std::vector<Image>& frames, int delay_centiseconds) {
  constexpr const char* op = "write_gif";
  if (frames.empty()) value_fail(op, "no frames");
  if (delay_centiseconds < 0 || delay_centiseconds > 65535)
    value_fail(op, "delay_centiseconds must be in [0, 65535], got " + std::to_string(delay_centiseconds));
  for (std::size_t i = 0; i < frames.size(); ++i) {
    check_image(frames[i], op, "frame " + std::to_string(i));
    if (frames[i].width != frames[0].width || frames[i].height != frames[0].height)
      throw tape::ShapeError("write_gif: all frames must have the same size; frame 0=" + size_string(frames[0]) +
                             ", frame " + std::to_string(i) + "=" + size_string(frames[i]));
  }
  if (frames[0].width > 65535 || frames[0].height > 65535)
    value_fail(op, "frames of " + size_string(frames[0]) + " are too large for GIF");
}

Bytes encode_gif(const std::vector<Image>& frames, int delay_centiseconds, bool loop, const std::string& path) {
  const bool gray = std::all_of(frames.begin(), frames.end(), [](const Image& f) { return f.channels == 1; });
  const int width = frames[0].width, height = frames[0].height;
  Bytes out;
  GifEncoder encoder(out, path);
  encoder.put_screen(width, height, gray);
  if (loop) encoder.put_loop_extension();
  for (const Image& frame : frames) {
    Bytes indices = palette_indices(frame, gray);
    encoder.put_frame(indices, width, height, delay_centiseconds);
  }
  encoder.finish();
  return out;
}

}  // namespace

std::vector<std::uint8_t> to_pixels(const tape::Tensor& images) {
  if (!images.defined() || images.rank() != 4) {
    throw tape::ShapeError("to_pixels: expects images [N, H, W, C], got " +
                           (images.defined() ? images.shape().to_string() : std::string("undefined")));
  }
  const tape::Tensor f = images.to(tape::DType::f32);
  const float* src = f.data<float>();
  std::vector<std::uint8_t> out(static_cast<std::size_t>(f.numel()));
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = to_pixel(src[i]);
  return out;
}

Image make_grid(const tape::Tensor& images, int columns, int padding, int scale) {
  check_grid_arguments(images, columns, padding, scale);
  const tape::Shape& shape = images.shape();
  const std::int64_t n = shape[0], h = shape[1], w = shape[2], c = shape[3];
  const std::int64_t cols = std::min<std::int64_t>(columns, n), rows = (n + cols - 1) / cols;
  Image grid{grid_extent(cols, w, scale, padding), grid_extent(rows, h, scale, padding), static_cast<int>(c), {}};
  grid.pixels.assign(static_cast<std::size_t>(grid.width) * grid.height * grid.channels, kGridBorderValue);
  const std::vector<float> values = images.to_vector<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    const int x0 = static_cast<int>(padding + (i % cols) * (w * scale + padding));
    const int y0 = static_cast<int>(padding + (i / cols) * (h * scale + padding));
    place_tile(grid, values.data() + i * h * w * c, static_cast<int>(h), static_cast<int>(w), x0, y0, scale);
  }
  return grid;
}

std::vector<std::uint8_t> encode_png(const Image& image) {
  check_image(image, "encode_png");
  Bytes out;
  PngSink sink{&out, {}};
  if (!encode_png_into(image, &sink)) throw tape::IOError(std::string("encode_png: ") + sink.error);
  return out;
}

namespace detail {

void write_png_as(const std::string& path, const Image& image, const char* op) {
  check_image(image, op);
  Bytes bytes;
  PngSink sink{&bytes, {}};
  if (!encode_png_into(image, &sink)) io_fail(op, path, sink.error);
  write_file_atomically(path, bytes, op);
}

}  // namespace detail

void write_png(const std::string& path, const Image& image) { detail::write_png_as(path, image, "write_png"); }

Image read_png(const std::string& path) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  if (png_image_begin_read_from_file(&png, path.c_str()) == 0)
    throw tape::IOError("read_png: cannot read " + quoted(path) + ": " + png.message);
  const bool color = (png.format & PNG_FORMAT_FLAG_COLOR) != 0;
  png.format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  Image image{static_cast<int>(png.width), static_cast<int>(png.height), color ? 3 : 1, {}};
  try {
    image.pixels.resize(PNG_IMAGE_SIZE(png));
  } catch (...) {
    png_image_free(&png);
    throw;
  }
  if (png_image_finish_read(&png, nullptr, image.pixels.data(), 0, nullptr) == 0)
    throw tape::IOError("read_png: cannot decode " + quoted(path) + ": " + png.message);
  return image;
}

void write_gif(const std::string& path, const std::vector<Image>& frames, int delay_centiseconds, bool loop) {
  check_frames(frames, delay_centiseconds);
  write_file_atomically(path, encode_gif(frames, delay_centiseconds, loop, path), "write_gif");
}

}  // namespace tape::io
