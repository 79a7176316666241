// Line plots (losses, metrics over steps) rendered with cairo into an RGB Image or a PNG file;
// text in DejaVu Sans (Debian fonts-dejavu-core) found through fontconfig.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tape/io/image.h"

namespace tape::io {

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

}  // namespace tape::io
