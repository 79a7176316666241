// The quality report's printed table: the score column is headed with the dataset's name and
// the columns stay aligned.
#include <string>
#include <utility>

#include <catch2/catch.hpp>

#include "tape/metrics/report.h"

TEST_CASE("the quality table heads the score column with the dataset's name, columns aligned", "[metrics][report]") {
  tape::metrics::QualityReport r;
  r.n = 10, r.score = 1.0, r.fid = 2.5, r.histogram.assign(10, 0.1);
  for (const auto& [label, fid_column] : {std::pair<std::string, std::size_t>{"MNIST score", 37},
                                          std::pair<std::string, std::size_t>{"Fashion-MNIST score", 42}}) {
    INFO(label);
    const std::string table = tape::metrics::format_quality_table({{"real test", r}}, label);
    const std::string header = table.substr(0, table.find('\n'));
    const std::string row = table.substr(header.size() + 1, table.find('\n', header.size() + 1) - header.size() - 1);
    CHECK(header.find(label) == 21);
    CHECK(header.find("FID") == fid_column);
    CHECK(row.find("2.500") == fid_column);
  }
}

