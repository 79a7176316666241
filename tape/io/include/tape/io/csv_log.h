// CsvLog: a CSV file of numeric rows under a fixed header, the way training programs log losses
// and metrics: each row appended and flushed as it comes, and on resume the rows past the resumed
// step dropped by an atomic rewrite, so the file always matches the checkpoint training went on from.
#pragma once
#include <string>
#include <vector>

namespace tape::io {

class CsvLog {
 public:
  // A column: its header name and the printf format of its values ("%.0f" for counts, "%.6f").
  struct Column {
    std::string name;
    std::string format = "%.6g";
  };
  // Nothing is read or written until start() or resume().
  CsvLog(std::string path, std::vector<Column> columns);

  // A new file holding only the header (atomically replacing any old one).
  void start();
  // Reads the existing file and keeps its rows whose first value is <= max_first, rewritten
  // atomically; a last line without its newline (an append cut short by a crash) is dropped.
  // Returns false (and writes nothing) when there is no file. Throws tape::IOError
  // naming the file and line for another header, a row of the wrong width or a cell that is not
  // a number.
  bool resume(double max_first);
  // Appends one row (one value per column) and flushes it; ValueError for the wrong width,
  // IOError when the write fails.
  void append(const std::vector<double>& row);

  const std::vector<std::vector<double>>& rows() const { return rows_; }
  const std::string& path() const { return path_; }

 private:
  std::string header() const;
  std::string line(const std::vector<double>& row) const;
  void rewrite() const;
  std::string path_;
  std::vector<Column> columns_;
  std::vector<std::vector<double>> rows_;
};

}  // namespace tape::io
