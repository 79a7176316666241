// Line plots drawn with cairo into an Image: anti-aliased lines, text in DejaVu Sans (through
// fontconfig; another sans-serif face when it is missing), axes with round-valued ticks, grid
// lines, titles and a legend in the corner where it hides the fewest line pixels.
#include "tape/io/plot.h"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>

#include "image_detail.h"

namespace tape::io {
namespace {

using detail::quoted;
using detail::value_fail;
using Bytes = std::vector<std::uint8_t>;

// ------------------------------------------------------------------------------ drawing

struct Rgb {
  std::uint8_t r, g, b;
};

constexpr Rgb kWhite{255, 255, 255};
constexpr Rgb kInk{25, 25, 25};          // text, ticks and the plot frame
constexpr Rgb kGridLine{228, 228, 228};  // grid lines at the ticks
constexpr Rgb kLegendEdge{190, 190, 190};
// Ten well-separated colors (the "category10" scheme).
constexpr Rgb kSeriesColors[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},   {148, 103, 189},
                                 {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
constexpr const char* kFontFace = "DejaVu Sans";

Rgb color_of_series(std::size_t index) { return kSeriesColors[index % std::size(kSeriesColors)]; }

void set_color(cairo_t* cr, Rgb c, double alpha = 1.0) {
  cairo_set_source_rgba(cr, c.r / 255.0, c.g / 255.0, c.b / 255.0, alpha);
}

// A cairo image surface [height, width] with its drawing context; IOError naming `op` when cairo
// cannot make them (out of memory).
class Surface {
 public:
  Surface(int width, int height, cairo_format_t format, const char* op)
      : surface_(cairo_image_surface_create(format, width, height), cairo_surface_destroy),
        cr_(cairo_create(surface_.get()), cairo_destroy) {
    if (cairo_surface_status(surface_.get()) != CAIRO_STATUS_SUCCESS || cairo_status(cr_.get()) != CAIRO_STATUS_SUCCESS)
      throw tape::IOError(std::string(op) + ": cairo could not make a " + std::to_string(width) + "x" +
                          std::to_string(height) + " surface: " + cairo_status_to_string(cairo_status(cr_.get())));
  }
  cairo_t* cr() const { return cr_.get(); }
  cairo_surface_t* surface() const { return surface_.get(); }
  // The 32-bit pixel at (x, y): xRGB or ARGB in native byte order.
  std::uint32_t pixel(int x, int y) const {
    const unsigned char* row = cairo_image_surface_get_data(surface_.get()) + y * cairo_image_surface_get_stride(surface_.get());
    return reinterpret_cast<const std::uint32_t*>(row)[x];
  }
  // The surface as 8-bit RGB [height, width, 3].
  Image to_rgb() const {
    cairo_surface_flush(surface_.get());
    const int w = cairo_image_surface_get_width(surface_.get()), h = cairo_image_surface_get_height(surface_.get());
    Image out{w, h, 3, Bytes(static_cast<std::size_t>(w) * h * 3)};
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const std::uint32_t p = pixel(x, y);
        std::uint8_t* o = out.pixels.data() + (static_cast<std::size_t>(y) * w + x) * 3;
        o[0] = static_cast<std::uint8_t>(p >> 16), o[1] = static_cast<std::uint8_t>(p >> 8), o[2] = static_cast<std::uint8_t>(p);
      }
    return out;
  }

 private:
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface_;
  std::unique_ptr<cairo_t, decltype(&cairo_destroy)> cr_;
};

// Text of one size in kFontFace: measures and draws UTF-8 strings.
class Pen {
 public:
  Pen(cairo_t* cr, double size) : cr_(cr), size_(size) {}
  double width(const std::string& text) const {
    if (text.empty()) return 0.0;
    select();
    cairo_text_extents_t e;
    cairo_text_extents(cr_, text.c_str(), &e);
    return e.x_advance;
  }
  // `text`, cut short with "..." (at a character boundary) when wider than max_width.
  std::string fit(const std::string& text, double max_width) const {
    if (width(text) <= max_width) return text;
    std::string cut = text;
    while (!cut.empty()) {
      cut.pop_back();
      while (!cut.empty() && (static_cast<unsigned char>(cut.back()) & 0xC0) == 0x80) cut.pop_back();
      if (width(cut + "...") <= max_width) return cut + "...";
    }
    return "";
  }
  // Horizontal text with its top-left corner at (x, y) (top = the cap height above the baseline);
  // vertical text reads bottom to top with (x, y) its bottom-left corner.
  void draw(const std::string& text, double x, double y, Rgb color, bool vertical = false) const {
    if (text.empty()) return;
    select();
    set_color(cr_, color);
    cairo_save(cr_);
    cairo_translate(cr_, x, y);
    if (vertical) cairo_rotate(cr_, -M_PI / 2);
    cairo_move_to(cr_, 0.0, cap_height());
    cairo_show_text(cr_, text.c_str());
    cairo_restore(cr_);
  }
  double cap_height() const { return 0.73 * size_; }  // DejaVu Sans' capitals
  double line() const { return 1.2 * size_; }

 private:
  void select() const {
    cairo_select_font_face(cr_, kFontFace, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr_, size_);
  }
  cairo_t* cr_;
  double size_;
};

// ------------------------------------------------------------------------------ plot axes

struct Axis {
  double lo = 0.0, hi = 1.0;
  std::vector<double> ticks;
  std::vector<std::string> labels;
};

struct Range {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  void add(double v) { lo = std::min(lo, v), hi = std::max(hi, v); }
  bool empty() const { return !(lo <= hi); }
};

// The label of tick `v` on an axis of spacing `step`, with as many decimals as the step needs.
std::string tick_label(double v, double step) {
  if (std::abs(v) < step * 1e-6) v = 0.0;  // no "-0" or rounding residue
  const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  char buf[64];
  if (decimals > 6 || std::abs(v) >= 1e9)
    std::snprintf(buf, sizeof buf, "%.3g", v);
  else
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Spacing 1, 2 or 5 x 10^k giving about `target` intervals over [lo, hi]; the axis is widened to
// whole steps.
Axis nice_axis(Range range, int target) {
  if (range.empty()) range = Range{0.0, 1.0};
  if (!std::isfinite(range.hi - range.lo)) range = Range{range.lo / 4, range.hi / 4};  // near +-DBL_MAX
  if (range.hi - range.lo <= 1e-12 * std::max(1.0, std::abs(range.hi))) {
    const double pad = std::max(std::abs(range.lo) * 0.1, 0.5);
    range = Range{range.lo - pad, range.hi + pad};
  }
  const double raw = (range.hi - range.lo) / std::max(target, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double ratio = raw / magnitude;
  const double step = (ratio <= 1.0 ? 1.0 : ratio <= 2.0 ? 2.0 : ratio <= 5.0 ? 5.0 : 10.0) * magnitude;
  const double first = std::floor(range.lo / step + 1e-9), last = std::ceil(range.hi / step - 1e-9);
  Axis axis{first * step, last * step, {}, {}};
  const int count = static_cast<int>(std::min(last - first, 1000.0));  // an integer count: first may exceed 2^53
  for (int i = 0; i <= count; ++i) {
    axis.ticks.push_back((first + i) * step);
    axis.labels.push_back(tick_label(axis.ticks.back(), step));
  }
  return axis;
}

double max_label_width(const Axis& axis, const Pen& pen) {
  double w = 0;
  for (const auto& label : axis.labels) w = std::max(w, pen.width(label));
  return w;
}

// The axis with the most ticks (aiming at max_ticks, then fewer, down to 2) whose ticks are at
// least `min_spacing(axis)` pixels apart over `pixels`.
template <class MinSpacing>
Axis fitted_axis(const Range& range, double pixels, int max_ticks, MinSpacing min_spacing) {
  for (int target = std::max(max_ticks, 2); target > 2; --target) {
    Axis axis = nice_axis(range, target);
    const double spacing = pixels / std::max<double>(static_cast<double>(axis.ticks.size()) - 1, 1);
    if (spacing >= min_spacing(axis)) return axis;
  }
  return nice_axis(range, 2);
}

// ------------------------------------------------------------------------------ plot layout

struct Point {
  double x, y;
};

// Sizes derived from the canvas (800x450 is scale 1): fonts, spacing, tick length, line width.
struct Metrics {
  double scale, pad, gap, tick, line_width;
  Pen text, title;

  Metrics(cairo_t* cr, const PlotOptions& o)
      : scale(std::max(0.6, std::min(o.width / 800.0, o.height / 450.0))),
        pad(10 * scale),
        gap(5 * scale),
        tick(5 * scale),
        line_width(std::max(2.5, 2.5 * scale)),
        text(cr, 14 * scale),
        title(cr, 17 * scale) {}
};

// The plot frame [x0, x1] x [y0, y1] (pixel edges) and its data axes.
struct Frame {
  double x0, y0, x1, y1;
  Axis x_axis, y_axis;

  // Pixel centers of the grid lines and ticks, so that 1-pixel lines stay sharp.
  double column_of(double x) const {
    return std::floor(x0 + (x - x_axis.lo) / (x_axis.hi - x_axis.lo) * (x1 - x0)) + 0.5;
  }
  double row_of(double y) const { return std::floor(y1 - (y - y_axis.lo) / (y_axis.hi - y_axis.lo) * (y1 - y0)) + 0.5; }
  Point to_canvas(double x, double y) const {
    return Point{x0 + (x - x_axis.lo) / (x_axis.hi - x_axis.lo) * (x1 - x0),
                 y1 - (y - y_axis.lo) / (y_axis.hi - y_axis.lo) * (y1 - y0)};
  }
};

void check_plot_arguments(const std::vector<Series>& series, const PlotOptions& options, const char* op) {
  if (options.width < 160 || options.height < 120 || options.width > 8192 || options.height > 8192)
    value_fail(op, "the plot size must be within 160x120 .. 8192x8192, got " + std::to_string(options.width) + "x" +
                       std::to_string(options.height));
  for (const Series& s : series)
    if (s.x.size() != s.y.size())
      value_fail(op, "series " + quoted(s.label) + " has " + std::to_string(s.x.size()) + " x values but " +
                         std::to_string(s.y.size()) + " y values");
}

// The ranges of the finite points of all series.
std::pair<Range, Range> data_ranges(const std::vector<Series>& series) {
  Range xr, yr;
  for (const Series& s : series)
    for (std::size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) xr.add(s.x[i]), yr.add(s.y[i]);
  return {xr, yr};
}

// Places the plot frame: room for the title above, tick labels and axis labels left and below.
Frame layout_frame(const std::vector<Series>& series, const PlotOptions& o, const Metrics& m, const char* op) {
  const auto [xr, yr] = data_ranges(series);
  const double line = m.text.line();
  Frame f{};
  f.y0 = std::round(m.pad + (o.title.empty() ? m.gap : m.title.line() + m.pad));
  f.y1 = std::round(o.height - (m.tick + m.gap + line + (o.x_label.empty() ? 0 : m.gap + line) + m.pad));
  const double y_pixels = f.y1 - f.y0;
  f.y_axis = fitted_axis(yr, y_pixels, std::max(2, static_cast<int>(y_pixels / (3 * line))),
                         [&](const Axis&) { return 2.5 * line; });
  f.x0 = std::round(m.pad + (o.y_label.empty() ? 0 : line + m.gap) + max_label_width(f.y_axis, m.text) + m.gap + m.tick);
  f.x1 = std::round(o.width - (m.pad + 2 * m.text.width("0")));
  const double x_pixels = f.x1 - f.x0;
  if (x_pixels < 40 || y_pixels < 40) value_fail(op, "the plot is too small for its labels");
  const double em = m.text.width("0");
  f.x_axis = fitted_axis(xr, x_pixels, std::max(2, static_cast<int>(x_pixels / (8 * em))),
                         [&](const Axis& a) { return max_label_width(a, m.text) + 3.0 * em; });
  return f;
}

void stroke_line(cairo_t* cr, Point a, Point b, Rgb color, double width) {
  set_color(cr, color);
  cairo_set_line_width(cr, width);
  cairo_move_to(cr, a.x, a.y);
  cairo_line_to(cr, b.x, b.y);
  cairo_stroke(cr);
}

void draw_grid_lines(cairo_t* cr, const Frame& f) {
  for (double t : f.x_axis.ticks) stroke_line(cr, {f.column_of(t), f.y0}, {f.column_of(t), f.y1}, kGridLine, 1.0);
  for (double t : f.y_axis.ticks) stroke_line(cr, {f.x0, f.row_of(t)}, {f.x1, f.row_of(t)}, kGridLine, 1.0);
}

// The finite runs of `s` as one path each (a non-finite point ends a run), stroked with round
// joins; a lone point becomes a dot.
void draw_series(cairo_t* cr, const Series& s, const Frame& f, Rgb color, double width) {
  set_color(cr, color);
  cairo_set_line_width(cr, width);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  std::vector<Point> run;
  auto flush = [&] {
    if (run.size() == 1) {
      cairo_arc(cr, run[0].x, run[0].y, width, 0.0, 2 * M_PI);
      cairo_fill(cr);
    } else if (run.size() > 1) {
      cairo_move_to(cr, run[0].x, run[0].y);
      for (std::size_t i = 1; i < run.size(); ++i) cairo_line_to(cr, run[i].x, run[i].y);
      cairo_stroke(cr);
    }
    run.clear();
  };
  for (std::size_t i = 0; i < s.x.size(); ++i) {
    if (std::isfinite(s.x[i]) && std::isfinite(s.y[i]))
      run.push_back(f.to_canvas(s.x[i], s.y[i]));
    else
      flush();
  }
  flush();
}

// Frame outline, outward tick marks and their labels.
void draw_axes(cairo_t* cr, const Frame& f, const Metrics& m) {
  set_color(cr, kInk);
  cairo_set_line_width(cr, 1.0);
  cairo_rectangle(cr, f.x0 + 0.5, f.y0 + 0.5, f.x1 - f.x0 - 1, f.y1 - f.y0 - 1);
  cairo_stroke(cr);
  for (std::size_t i = 0; i < f.x_axis.ticks.size(); ++i) {
    const double x = f.column_of(f.x_axis.ticks[i]);
    stroke_line(cr, {x, f.y1}, {x, f.y1 + m.tick}, kInk, 1.0);
    const std::string& label = f.x_axis.labels[i];
    m.text.draw(label, x - m.text.width(label) / 2, f.y1 + m.tick + m.gap, kInk);
  }
  for (std::size_t i = 0; i < f.y_axis.ticks.size(); ++i) {
    const double y = f.row_of(f.y_axis.ticks[i]);
    stroke_line(cr, {f.x0 - m.tick, y}, {f.x0, y}, kInk, 1.0);
    const std::string& label = f.y_axis.labels[i];
    m.text.draw(label, f.x0 - m.tick - m.gap - m.text.width(label), y - m.text.cap_height() / 2, kInk);
  }
}

// The title centered over the frame (shifted to stay on the canvas), the axis labels centered on
// their axes; each cut short when too long.
void draw_titles(const Frame& f, const PlotOptions& o, const Metrics& m) {
  const double center_x = (f.x0 + f.x1) / 2, center_y = (f.y0 + f.y1) / 2;
  const std::string title = m.title.fit(o.title, o.width - 2 * m.pad);
  const double title_w = m.title.width(title);
  m.title.draw(title, std::clamp(center_x - title_w / 2, m.pad, o.width - m.pad - title_w), m.pad, kInk);
  const std::string x_label = m.text.fit(o.x_label, f.x1 - f.x0);
  m.text.draw(x_label, center_x - m.text.width(x_label) / 2, f.y1 + m.tick + m.gap + m.text.line() + m.gap, kInk);
  const std::string y_label = m.text.fit(o.y_label, f.y1 - f.y0);
  m.text.draw(y_label, m.pad, center_y + m.text.width(y_label) / 2, kInk, true);
}

// Pixels of `lines` (an ARGB surface) at least half opaque inside [x0, x1) x [y0, y1).
int ink_in(const Surface& lines, int x0, int y0, int x1, int y1) {
  const int w = cairo_image_surface_get_width(lines.surface()), h = cairo_image_surface_get_height(lines.surface());
  int n = 0;
  for (int y = std::max(y0, 0); y < std::min(y1, h); ++y)
    for (int x = std::max(x0, 0); x < std::min(x1, w); ++x) n += (lines.pixel(x, y) >> 24) >= 128;
  return n;
}

// A box of swatches and labels in whichever corner of the frame covers the fewest line pixels;
// labels too wide for the frame are cut short.
void draw_legend(cairo_t* cr, const std::vector<Series>& series, const Frame& f, const Metrics& m,
                 const Surface& lines) {
  const double swatch_w = 3 * m.text.width("0") + 10 * m.scale, swatch_h = 3 * m.scale;
  const double max_label_w = (f.x1 - f.x0) - 2 * m.pad - (m.pad + swatch_w + m.gap * 2 + m.pad);
  std::vector<std::string> labels;
  int entries = 0;
  double label_w = 0;
  for (const Series& s : series) {
    labels.push_back(m.text.fit(s.label, max_label_w));
    if (!s.label.empty()) ++entries, label_w = std::max(label_w, m.text.width(labels.back()));
  }
  if (entries == 0) return;
  const double row_h = m.text.line() + m.gap, box_w = std::ceil(m.pad + swatch_w + m.gap * 2 + label_w + m.pad),
               box_h = std::ceil(m.pad + entries * row_h - m.gap + m.pad - (m.text.line() - m.text.cap_height()));
  int best = std::numeric_limits<int>::max();
  double bx = 0, by = 0;
  for (const double x : {std::floor(f.x1 - m.pad - box_w), std::ceil(f.x0 + m.pad + 1)})
    for (const double y : {std::ceil(f.y0 + m.pad + 1), std::floor(f.y1 - m.pad - box_h)}) {
      const int n = ink_in(lines, static_cast<int>(x), static_cast<int>(y), static_cast<int>(x + box_w),
                           static_cast<int>(y + box_h));
      if (n < best) best = n, bx = x, by = y;
    }
  set_color(cr, kWhite, 0.85);
  cairo_rectangle(cr, bx, by, box_w, box_h);
  cairo_fill(cr);
  set_color(cr, kLegendEdge);
  cairo_set_line_width(cr, 1.0);
  cairo_rectangle(cr, bx + 0.5, by + 0.5, box_w - 1, box_h - 1);
  cairo_stroke(cr);
  double y = by + m.pad;
  for (std::size_t i = 0; i < series.size(); ++i) {
    if (series[i].label.empty()) continue;
    const double mid = y + m.text.cap_height() / 2;
    set_color(cr, color_of_series(i));
    cairo_rectangle(cr, bx + m.pad, std::round(mid - swatch_h / 2), swatch_w, std::ceil(swatch_h));
    cairo_fill(cr);
    m.text.draw(labels[i], bx + m.pad + swatch_w + 2 * m.gap, y, kInk);
    y += row_h;
  }
}

Image render_plot(const std::vector<Series>& series, const PlotOptions& options, const char* op) {
  check_plot_arguments(series, options, op);
  Surface canvas(options.width, options.height, CAIRO_FORMAT_RGB24, op);
  cairo_t* cr = canvas.cr();
  const Metrics m(cr, options);
  const Frame frame = layout_frame(series, options, m, op);
  set_color(cr, kWhite);
  cairo_paint(cr);
  draw_grid_lines(cr, frame);
  // The lines go on a transparent layer first: its opacity tells the legend where they are.
  Surface lines(options.width, options.height, CAIRO_FORMAT_ARGB32, op);
  cairo_rectangle(lines.cr(), frame.x0, frame.y0, frame.x1 - frame.x0, frame.y1 - frame.y0);
  cairo_clip(lines.cr());
  for (std::size_t i = 0; i < series.size(); ++i) draw_series(lines.cr(), series[i], frame, color_of_series(i), m.line_width);
  cairo_surface_flush(lines.surface());
  cairo_set_source_surface(cr, lines.surface(), 0, 0);
  cairo_paint(cr);
  draw_axes(cr, frame, m);
  draw_titles(frame, options, m);
  draw_legend(cr, series, frame, m, lines);
  if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
    throw tape::IOError(std::string(op) + ": cairo failed: " + cairo_status_to_string(cairo_status(cr)));
  return canvas.to_rgb();
}

}  // namespace

std::array<std::uint8_t, 3> series_color(std::size_t index) {
  const Rgb c = color_of_series(index);
  return {c.r, c.g, c.b};
}

Image render_line_plot(const std::vector<Series>& series, const PlotOptions& options) {
  return render_plot(series, options, "render_line_plot");
}

void plot_lines(const std::string& path, const std::vector<Series>& series, const PlotOptions& options) {
  detail::write_png_as(path, render_plot(series, options, "plot_lines"), "plot_lines");
}

}  // namespace tape::io
