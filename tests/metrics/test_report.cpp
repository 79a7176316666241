// The quality report's printed table (the score column headed with the dataset's name, columns
// aligned) and the label accuracy of images made for given classes.
#include <cmath>
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


TEST_CASE("label accuracy: overall and per class, NaN for a class without images, in the table and checked", "[metrics][report]") {
  tape::metrics::QualityReport r;
  r.n = 6, r.histogram.assign(10, 0.1);
  // made for 0, 0, 1, 1, 1, 3; classified as 0, 5, 1, 1, 2, 3
  tape::metrics::add_label_accuracy(r, {0, 5, 1, 1, 2, 3}, {0, 0, 1, 1, 1, 3});
  CHECK(r.label_accuracy == Approx(4.0 / 6.0));
  REQUIRE(r.class_accuracy.size() == 10);
  CHECK(r.class_accuracy[0] == 0.5);
  CHECK(r.class_accuracy[1] == Approx(2.0 / 3.0));
  CHECK(std::isnan(r.class_accuracy[2]));
  CHECK(r.class_accuracy[3] == 1.0);
  const std::string table = tape::metrics::format_quality_table({{"generated", r}}, "MNIST score");
  CHECK_THAT(table, Catch::Contains("label accuracy of generated (% classified as the class asked for): 66.7") &&
                        Catch::Contains("per class 0..9: 50.0  66.7  nan"));
  CHECK_THROWS_WITH(tape::metrics::add_label_accuracy(r, {0, 1}, {0}), Catch::Contains("2 predictions for 1 labels"));
  CHECK_THROWS_WITH(tape::metrics::add_label_accuracy(r, {0}, {10}), Catch::Contains("label 10 at 0"));
  CHECK_THROWS_WITH(tape::metrics::add_label_accuracy(r, {}, {}), Catch::Contains("no labels"));
  CHECK_THROWS_WITH(tape::metrics::add_label_accuracy(r, {0}, {0}, -3), Catch::Contains("classes must be >= 1, got -3"));
}
