// CsvLog (see csv_log.h): strict parsing on resume, atomic rewrites, flushed appends.
#include "tape/io/csv_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tape/error.h"
#include "posix_io.h"
#include "tape/io/atomic_file.h"

namespace tape::io {
namespace {

[[noreturn]] void io_fail(const std::string& path, const std::string& what) { throw IOError("CsvLog: " + path + ": " + what); }

// The comma-separated cells of `line` as numbers; IOError naming the line otherwise.
std::vector<double> parse_row(const std::string& line, std::size_t line_number, std::size_t width, const std::string& path) {
  std::vector<double> values;
  std::stringstream cells(line);
  std::string cell;
  const std::string where = "line " + std::to_string(line_number) + " ('" + line + "')";
  while (std::getline(cells, cell, ',')) {
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(cell.c_str(), &end);
    if (cell.empty() || end != cell.c_str() + cell.size() || errno == ERANGE) io_fail(path, where + ": '" + cell + "' is not a number");
    values.push_back(v);
  }
  if (!line.empty() && line.back() == ',') io_fail(path, where + ": an empty last cell");
  if (values.size() != width)
    io_fail(path, where + ": " + std::to_string(values.size()) + " values, the header has " + std::to_string(width));
  return values;
}

}  // namespace

CsvLog::CsvLog(std::string path, std::vector<Column> columns) : path_(std::move(path)), columns_(std::move(columns)) {
  if (columns_.empty()) throw ValueError("CsvLog: " + path_ + ": no columns");
}

std::string CsvLog::header() const {
  std::string h;
  for (const Column& c : columns_) h += (h.empty() ? "" : ",") + c.name;
  return h;
}

std::string CsvLog::line(const std::vector<double>& row) const {
  std::string out;
  char buf[64];
  for (std::size_t i = 0; i < row.size(); ++i) {
    std::snprintf(buf, sizeof buf, columns_[i].format.c_str(), row[i]);
    out += (i == 0 ? "" : ",") + std::string(buf);
  }
  return out;
}

void CsvLog::rewrite() const {
  std::string text = header() + "\n";
  for (const auto& row : rows_) text += line(row) + "\n";
  write_file_atomically(path_, text, "CsvLog");
}

void CsvLog::start() {
  rows_.clear();
  rewrite();
}

bool CsvLog::resume(double max_first) {
  std::ifstream f(path_, std::ios::binary);
  if (!f) return false;
  std::stringstream whole;
  whole << f.rdbuf();
  std::string content = whole.str();
  // An append cut short (the process killed mid-write) leaves a last line without its newline.
  content.erase(content.rfind('\n') == std::string::npos ? 0 : content.rfind('\n') + 1);
  std::stringstream lines(content);
  std::string text;
  if (!std::getline(lines, text) || text != header()) io_fail(path_, "the header is '" + text + "', expected '" + header() + "'");
  rows_.clear();
  for (std::size_t number = 2; std::getline(lines, text); ++number) {
    if (text.empty()) continue;
    std::vector<double> row = parse_row(text, number, columns_.size(), path_);
    if (row.front() <= max_first) rows_.push_back(std::move(row));
  }
  rewrite();
  return true;
}

void CsvLog::append(const std::vector<double>& row) {
  if (row.size() != columns_.size())
    throw ValueError("CsvLog: " + path_ + ": a row of " + std::to_string(row.size()) + " values, the header has " +
                     std::to_string(columns_.size()));
  // One write(2) in append mode: the row lands whole at the end, or the error names its cause
  // (No space left on device, File too large, ...); a row cut short by one is dropped on resume.
  const std::string text = line(row) + '\n';
  const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) io_fail(path_, "cannot append a row: " + detail::os_error(errno));
  const int err = detail::write_all(fd, text.data(), text.size());
  if (::close(fd) != 0 && err == 0) io_fail(path_, "cannot append a row: " + detail::os_error(errno));
  if (err != 0) io_fail(path_, "cannot append a row: " + detail::os_error(err));
  rows_.push_back(row);
}

}  // namespace tape::io
