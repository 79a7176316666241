// Line plots drawn into an Image: axes with round-valued ticks, grid lines, anti-aliased lines,
// titles and a legend, lettered with the built-in 5x7 font.
#include "tape/io/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "font5x7.h"
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

Rgb color_of_series(std::size_t index) { return kSeriesColors[index % std::size(kSeriesColors)]; }

// Mixes `color` into pixel (x, y) with opacity `alpha` in [0, 1]; ignores pixels off the canvas.
void blend(Image& canvas, int x, int y, Rgb color, double alpha) {
  if (x < 0 || y < 0 || x >= canvas.width || y >= canvas.height || alpha <= 0.0) return;
  alpha = std::min(alpha, 1.0);
  std::uint8_t* p = canvas.pixels.data() + (static_cast<std::size_t>(y) * canvas.width + x) * 3;
  const std::uint8_t target[3] = {color.r, color.g, color.b};
  for (int k = 0; k < 3; ++k) p[k] = static_cast<std::uint8_t>(std::lround(p[k] + (target[k] - p[k]) * alpha));
}

// Fills [x0, x1) x [y0, y1).
void fill_rect(Image& canvas, int x0, int y0, int x1, int y1, Rgb color, double alpha = 1.0) {
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) blend(canvas, x, y, color, alpha);
}

// Outline of [x0, x1] x [y0, y1] (inclusive), one pixel wide.
void stroke_rect(Image& canvas, int x0, int y0, int x1, int y1, Rgb color) {
  fill_rect(canvas, x0, y0, x1 + 1, y0 + 1, color);
  fill_rect(canvas, x0, y1, x1 + 1, y1 + 1, color);
  fill_rect(canvas, x0, y0, x0 + 1, y1 + 1, color);
  fill_rect(canvas, x1, y0, x1 + 1, y1 + 1, color);
}

int text_width(const std::string& text, int scale) {
  return text.empty() ? 0 : (static_cast<int>(text.size()) * font::kAdvance - 1) * scale;
}

// `text`, cut short with "..." when it is wider than `max_width` pixels.
std::string fit_text(const std::string& text, int max_width, int scale) {
  if (text_width(text, scale) <= max_width) return text;
  const int chars = std::max(0, (max_width / scale + 1) / font::kAdvance);
  return chars <= 3 ? text.substr(0, chars) : text.substr(0, chars - 3) + "...";
}

// Draws `text` with each font pixel a scale x scale block. Horizontal text has its cell's top-left
// corner at (x, y); vertical text reads bottom to top, with (x, y) the bottom-left corner.
void draw_text(Image& canvas, const std::string& text, int x, int y, int scale, Rgb color, bool vertical = false) {
  for (std::size_t i = 0; i < text.size(); ++i)
    for (int gy = 0; gy < font::kGlyphHeight; ++gy)
      for (int gx = 0; gx < font::kGlyphWidth; ++gx) {
        if (!font::glyph_pixel(text[i], gx, gy)) continue;
        const int u = (static_cast<int>(i) * font::kAdvance + gx) * scale, v = gy * scale;
        if (vertical)
          fill_rect(canvas, x + v, y - u - scale, x + v + scale, y - u, color);
        else
          fill_rect(canvas, x + u, y + v, x + u + scale, y + v + scale, color);
      }
}

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

int max_label_width(const Axis& axis, int scale) {
  int w = 0;
  for (const auto& label : axis.labels) w = std::max(w, text_width(label, scale));
  return w;
}

// The axis with the most ticks (aiming at max_ticks, then fewer, down to 2) whose ticks are at
// least `min_spacing(axis)` pixels apart over `pixels`.
template <class MinSpacing>
Axis fitted_axis(const Range& range, int pixels, int max_ticks, MinSpacing min_spacing) {
  for (int target = std::max(max_ticks, 2); target > 2; --target) {
    Axis axis = nice_axis(range, target);
    const double spacing = pixels / std::max<double>(static_cast<double>(axis.ticks.size()) - 1, 1);
    if (spacing >= min_spacing(axis)) return axis;
  }
  return nice_axis(range, 2);
}

// ------------------------------------------------------------------------------ plot lines

struct Point {
  double x, y;
};

// Anti-aliased stroke coverage over a rectangle of the canvas: the maximum over all stamped
// segments of clamp(half_width + 0.5 - distance to the segment, 0, 1) at each pixel center.
class Coverage {
 public:
  Coverage(int x0, int y0, int x1, int y1)
      : x0_(x0), y0_(y0), w_(x1 - x0 + 1), h_(y1 - y0 + 1), a_(static_cast<std::size_t>(w_) * h_, 0.0f) {}

  void stamp_segment(Point p, Point q, double half_width) {
    const double reach = half_width + 1.0;
    const int xa = std::max(x0_, static_cast<int>(std::floor(std::min(p.x, q.x) - reach)));
    const int xb = std::min(x0_ + w_ - 1, static_cast<int>(std::ceil(std::max(p.x, q.x) + reach)));
    const int ya = std::max(y0_, static_cast<int>(std::floor(std::min(p.y, q.y) - reach)));
    const int yb = std::min(y0_ + h_ - 1, static_cast<int>(std::ceil(std::max(p.y, q.y) + reach)));
    for (int y = ya; y <= yb; ++y)
      for (int x = xa; x <= xb; ++x) {
        const double c = half_width + 0.5 - distance_to_segment(Point{x + 0.5, y + 0.5}, p, q);
        float& cell = a_[static_cast<std::size_t>(y - y0_) * w_ + (x - x0_)];
        cell = std::max(cell, static_cast<float>(std::clamp(c, 0.0, 1.0)));
      }
  }

  // Paints the coverage in `color`; marks covered pixels in `ink` (same rectangle).
  void paint(Image& canvas, Rgb color, std::vector<bool>& ink) const {
    for (int y = 0; y < h_; ++y)
      for (int x = 0; x < w_; ++x) {
        const float c = a_[static_cast<std::size_t>(y) * w_ + x];
        if (c <= 0.0f) continue;
        blend(canvas, x0_ + x, y0_ + y, color, c);
        if (c >= 0.5f) ink[static_cast<std::size_t>(y) * w_ + x] = true;
      }
  }

 private:
  static double distance_to_segment(Point c, Point p, Point q) {
    const double dx = q.x - p.x, dy = q.y - p.y, len2 = dx * dx + dy * dy;
    const double t = len2 > 0.0 ? std::clamp(((c.x - p.x) * dx + (c.y - p.y) * dy) / len2, 0.0, 1.0) : 0.0;
    return std::hypot(c.x - (p.x + t * dx), c.y - (p.y + t * dy));
  }
  int x0_, y0_, w_, h_;
  std::vector<float> a_;
};

// The plot frame [x0, x1] x [y0, y1] (inclusive pixel rows and columns) and its data axes.
struct Frame {
  int x0, y0, x1, y1;
  Axis x_axis, y_axis;

  int column_of(double x) const {
    return x0 + static_cast<int>(std::lround((x - x_axis.lo) / (x_axis.hi - x_axis.lo) * (x1 - x0)));
  }
  int row_of(double y) const {
    return y1 - static_cast<int>(std::lround((y - y_axis.lo) / (y_axis.hi - y_axis.lo) * (y1 - y0)));
  }
  Point to_canvas(double x, double y) const {
    return Point{x0 + 0.5 + (x - x_axis.lo) / (x_axis.hi - x_axis.lo) * (x1 - x0),
                 y1 + 0.5 - (y - y_axis.lo) / (y_axis.hi - y_axis.lo) * (y1 - y0)};
  }
};

// Stamps the finite runs of `s` (a non-finite point ends a run; a lone point becomes a dot).
void stamp_series(Coverage& coverage, const Series& s, const Frame& frame, double half_width) {
  bool have_previous = false;
  Point previous{};
  for (std::size_t i = 0; i < s.x.size(); ++i) {
    if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
      have_previous = false;
      continue;
    }
    const Point p = frame.to_canvas(s.x[i], s.y[i]);
    coverage.stamp_segment(have_previous ? previous : p, p, half_width);
    previous = p, have_previous = true;
  }
}

// ------------------------------------------------------------------------------ plot layout

// Sizes derived from the canvas: text scale, spacing, tick length.
struct Metrics {
  int scale, title_scale, pad, gap, tick, line;

  explicit Metrics(const PlotOptions& o)
      : scale(std::max(1, std::min(o.width / 400, o.height / 225))),
        title_scale(scale + 1),
        pad(5 * scale),
        gap(3 * scale),
        tick(3 * scale),
        line(font::kGlyphHeight * scale) {}
  int cap_height() const { return 7 * scale; }
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
  Frame f{};
  f.y0 = m.pad + (o.title.empty() ? m.gap : font::kGlyphHeight * m.title_scale + m.pad);
  f.y1 = o.height - 1 - (m.tick + m.gap + m.line + (o.x_label.empty() ? 0 : m.gap + m.line) + m.pad);
  const int y_pixels = f.y1 - f.y0;
  f.y_axis = fitted_axis(yr, y_pixels, std::max(2, y_pixels / (3 * m.line)),
                         [&](const Axis&) { return 2.5 * m.line; });
  f.x0 = m.pad + (o.y_label.empty() ? 0 : m.line + m.gap) + max_label_width(f.y_axis, m.scale) + m.gap + m.tick;
  f.x1 = o.width - 1 - (m.pad + 3 * font::kAdvance * m.scale);
  const int x_pixels = f.x1 - f.x0;
  if (x_pixels < 40 || y_pixels < 40) value_fail(op, "the plot is too small for its labels");
  f.x_axis = fitted_axis(xr, x_pixels, std::max(2, x_pixels / (8 * font::kAdvance * m.scale)),
                         [&](const Axis& a) { return max_label_width(a, m.scale) + 3.0 * font::kAdvance * m.scale; });
  return f;
}

void draw_grid_lines(Image& canvas, const Frame& f) {
  for (double t : f.x_axis.ticks) fill_rect(canvas, f.column_of(t), f.y0, f.column_of(t) + 1, f.y1, kGridLine);
  for (double t : f.y_axis.ticks) fill_rect(canvas, f.x0, f.row_of(t), f.x1, f.row_of(t) + 1, kGridLine);
}

// Frame outline, outward tick marks and their labels.
void draw_axes(Image& canvas, const Frame& f, const Metrics& m) {
  stroke_rect(canvas, f.x0, f.y0, f.x1, f.y1, kInk);
  for (std::size_t i = 0; i < f.x_axis.ticks.size(); ++i) {
    const int x = f.column_of(f.x_axis.ticks[i]);
    fill_rect(canvas, x, f.y1 + 1, x + 1, f.y1 + 1 + m.tick, kInk);
    const std::string& label = f.x_axis.labels[i];
    draw_text(canvas, label, x - text_width(label, m.scale) / 2, f.y1 + m.tick + m.gap, m.scale, kInk);
  }
  for (std::size_t i = 0; i < f.y_axis.ticks.size(); ++i) {
    const int y = f.row_of(f.y_axis.ticks[i]);
    fill_rect(canvas, f.x0 - m.tick, y, f.x0, y + 1, kInk);
    const std::string& label = f.y_axis.labels[i];
    draw_text(canvas, label, f.x0 - m.tick - m.gap - text_width(label, m.scale), y - m.cap_height() / 2, m.scale,
              kInk);
  }
}

// The title centered over the frame (shifted to stay on the canvas), the axis labels centered on
// their axes; each cut short when too long.
void draw_titles(Image& canvas, const Frame& f, const PlotOptions& o, const Metrics& m) {
  const int center_x = (f.x0 + f.x1) / 2, center_y = (f.y0 + f.y1) / 2;
  const std::string title = fit_text(o.title, canvas.width - 2 * m.pad, m.title_scale);
  const int title_w = text_width(title, m.title_scale);
  draw_text(canvas, title, std::clamp(center_x - title_w / 2, m.pad, canvas.width - m.pad - title_w), m.pad,
            m.title_scale, kInk);
  const std::string x_label = fit_text(o.x_label, f.x1 - f.x0, m.scale);
  draw_text(canvas, x_label, center_x - text_width(x_label, m.scale) / 2, f.y1 + m.tick + m.gap + m.line + m.gap,
            m.scale, kInk);
  const std::string y_label = fit_text(o.y_label, f.y1 - f.y0, m.scale);
  draw_text(canvas, y_label, m.pad, center_y + text_width(y_label, m.scale) / 2, m.scale, kInk, true);
}

// Number of inked pixels inside [x0, x1) x [y0, y1) (canvas coordinates).
int ink_in(const std::vector<bool>& ink, const Frame& f, int x0, int y0, int x1, int y1) {
  const int w = f.x1 - f.x0 + 1;
  int n = 0;
  for (int y = std::max(y0, f.y0); y < std::min(y1, f.y1 + 1); ++y)
    for (int x = std::max(x0, f.x0); x < std::min(x1, f.x1 + 1); ++x)
      n += ink[static_cast<std::size_t>(y - f.y0) * w + (x - f.x0)];
  return n;
}

// A box of swatches and labels in whichever corner of the frame covers the fewest line pixels;
// labels too wide for the frame are cut short.
void draw_legend(Image& canvas, const std::vector<Series>& series, const Frame& f, const Metrics& m,
                 const std::vector<bool>& ink) {
  const int swatch_w = 4 * font::kAdvance * m.scale, swatch_h = 2 * m.scale;
  const int max_label_w = (f.x1 - f.x0) - 2 * m.pad - (m.pad + swatch_w + m.gap * 2 + m.pad);
  std::vector<std::string> labels;
  int entries = 0, label_w = 0;
  for (const Series& s : series) {
    labels.push_back(fit_text(s.label, max_label_w, m.scale));
    if (!s.label.empty()) ++entries, label_w = std::max(label_w, text_width(labels.back(), m.scale));
  }
  if (entries == 0) return;
  const int row_h = m.line + m.gap, box_w = m.pad + swatch_w + m.gap * 2 + label_w + m.pad,
            box_h = m.pad + entries * row_h - m.gap + m.pad;
  int best = std::numeric_limits<int>::max(), bx = 0, by = 0;
  for (const int x : {f.x1 - m.pad - box_w, f.x0 + m.pad + 1})
    for (const int y : {f.y0 + m.pad + 1, f.y1 - m.pad - box_h}) {
      const int n = ink_in(ink, f, x, y, x + box_w, y + box_h);
      if (n < best) best = n, bx = x, by = y;
    }
  fill_rect(canvas, bx, by, bx + box_w, by + box_h, kWhite, 0.85);
  stroke_rect(canvas, bx, by, bx + box_w - 1, by + box_h - 1, kLegendEdge);
  int y = by + m.pad;
  for (std::size_t i = 0; i < series.size(); ++i) {
    if (series[i].label.empty()) continue;
    const int mid = y + m.cap_height() / 2;
    fill_rect(canvas, bx + m.pad, mid - swatch_h / 2, bx + m.pad + swatch_w, mid - swatch_h / 2 + swatch_h,
              color_of_series(i));
    draw_text(canvas, labels[i], bx + m.pad + swatch_w + 2 * m.gap, y, m.scale, kInk);
    y += row_h;
  }
}

Image render_plot(const std::vector<Series>& series, const PlotOptions& options, const char* op) {
  check_plot_arguments(series, options, op);
  const Metrics m(options);
  const Frame frame = layout_frame(series, options, m, op);
  Image canvas{options.width, options.height, 3,
               Bytes(static_cast<std::size_t>(options.width) * options.height * 3, 255)};
  draw_grid_lines(canvas, frame);
  std::vector<bool> ink(static_cast<std::size_t>(frame.x1 - frame.x0 + 1) * (frame.y1 - frame.y0 + 1), false);
  const double half_width = 0.5 + 0.5 * m.scale;
  for (std::size_t i = 0; i < series.size(); ++i) {
    Coverage coverage(frame.x0, frame.y0, frame.x1, frame.y1);
    stamp_series(coverage, series[i], frame, half_width);
    coverage.paint(canvas, color_of_series(i), ink);
  }
  draw_axes(canvas, frame, m);
  draw_titles(canvas, frame, options, m);
  draw_legend(canvas, series, frame, m, ink);
  return canvas;
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
