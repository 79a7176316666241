// Tests of tape::data: IDX and CIFAR-10 decoding on small
// synthetic files (raw and gzipped), every damaged-file error, checksums, filter_class, batches;
// plus the real MNIST / Fashion-MNIST when present on this machine.
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <tape/data/batches.h>
#include <tape/data/dataset.h>

#include "support/data_files.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

using namespace test_files;

// n images of h x w, pixel (i, y, x) = (i * 37 + y * w + x) mod 256, with pixel 0 of image 0 = 0
// and the last pixel of image 0 forced to 255.
Bytes image_pixels(std::uint32_t n, std::uint32_t h, std::uint32_t w) {
  Bytes px(static_cast<std::size_t>(n) * h * w);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>((i / (h * w)) * 37 + i % (h * w));
  px[h * w - 1] = 255;
  return px;
}

Bytes labels_of(std::uint32_t n) {
  Bytes labels(n);
  for (std::uint32_t i = 0; i < n; ++i) labels[i] = static_cast<std::uint8_t>(i % 10);
  return labels;
}

Bytes images_file(std::uint32_t n, std::uint32_t h = 4, std::uint32_t w = 3) {
  return idx_bytes(2051, {n, h, w}, image_pixels(n, h, w));
}
Bytes labels_file(std::uint32_t n) { return idx_bytes(2049, {n}, labels_of(n)); }

// Writes a consistent MNIST-named pair of n images into `dir` (gzipped when `gz`).
void write_mnist_pair(const TempDir& dir, const std::string& prefix, std::uint32_t n, bool gz) {
  const auto write = gz ? write_gzip : write_bytes;
  const std::string suffix = gz ? ".gz" : "";
  write(dir.file(prefix + "-images-idx3-ubyte" + suffix), images_file(n));
  write(dir.file(prefix + "-labels-idx1-ubyte" + suffix), labels_file(n));
}

float pixel(std::uint8_t v) { return (static_cast<float>(v) - 127.5f) / 127.5f; }

// `f` must throw tape::IOError whose message contains every one of `parts`.
template <class F>
void require_io_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const tape::IOError& e) {
    const std::string msg = e.what();
    INFO("message: " << msg);
    for (const auto& part : parts) {
      INFO("expected part: " << part);
      CHECK(msg.find(part) != std::string::npos);
    }
    return;
  }
  FAIL("no tape::IOError thrown; expected one mentioning " << parts.front());
}

tape::data::Dataset tiny_dataset(std::int64_t n) {
  std::vector<float> px;
  tape::data::Dataset data;
  for (std::int64_t i = 0; i < n; ++i) {
    for (int k = 0; k < 4; ++k) px.push_back(static_cast<float>(i));
    data.labels.push_back(static_cast<std::uint8_t>(i % 10));
  }
  data.images = tape::Tensor::from_vector(px, tape::Shape{n, 2, 2, 1});
  data.name = "tiny";
  return data;
}

// The batches of one epoch, as lists of image indices (read back from the pixel values).
std::vector<std::vector<std::int64_t>> epoch_batches(tape::data::BatchIterator& it) {
  std::vector<std::vector<std::int64_t>> batches;
  it.new_epoch();
  for (auto x = it.next(); x.defined(); x = it.next()) {
    REQUIRE(x.shape() == tape::Shape{it.batch_size(), 2, 2, 1});
    std::vector<std::int64_t> ids;
    for (std::int64_t b = 0; b < it.batch_size(); ++b) ids.push_back(static_cast<std::int64_t>(x.at({b, 0, 0, 0})));
    CHECK(ids == it.last_indices());
    batches.push_back(ids);
  }
  return batches;
}

}  // namespace

TEST_CASE("IDX pair decodes to NHWC float32 in [-1, 1], raw and gzipped", "[data]") {
  const bool gz = GENERATE(false, true);
  INFO("gzipped: " << gz);
  TempDir dir;
  const auto write = gz ? write_gzip : write_bytes;
  write(dir.file("img"), images_file(5, 4, 3));
  write(dir.file("lbl"), labels_file(5));

  const tape::data::Dataset data = tape::data::load_idx_pair(dir.file("img"), dir.file("lbl"));
  REQUIRE(data.images.shape() == tape::Shape{5, 4, 3, 1});
  REQUIRE(data.images.dtype() == tape::DType::f32);
  REQUIRE(data.size() == 5);
  CHECK(data.labels == labels_of(5));
  const Bytes px = image_pixels(5, 4, 3);
  const auto values = data.images.to_vector<float>();
  REQUIRE(values.size() == px.size());
  for (std::size_t i = 0; i < px.size(); ++i) REQUIRE(values[i] == pixel(px[i]));
  CHECK(data.images.at({0, 0, 0, 0}) == -1.0);  // byte 0
  CHECK(data.images.at({0, 3, 2, 0}) == 1.0);   // byte 255
  CHECK(data.images.at({1, 2, 1, 0}) == Approx((37.0 + 7.0 - 127.5) / 127.5));
}

TEST_CASE("read_file_bytes detects gzip by content, not by name", "[data]") {
  TempDir dir;
  const Bytes content = images_file(2);
  write_gzip(dir.file("plain-name"), content);
  write_bytes(dir.file("raw.gz"), content);
  CHECK(tape::data::read_file_bytes(dir.file("plain-name")) == content);
  CHECK(tape::data::read_file_bytes(dir.file("raw.gz")) == content);
}

TEST_CASE("damaged IDX files give IOError naming the file", "[data]") {
  TempDir dir;
  const std::string img = dir.file("images.idx");
  const std::string lbl = dir.file("labels.idx");
  write_bytes(img, images_file(3));
  write_bytes(lbl, labels_file(3));
  const auto load = [&] { return tape::data::load_idx_pair(img, lbl); };

  SECTION("missing image file") {
    fs::remove(img);
    require_io_error(load, {img, "not found"});
  }
  SECTION("missing label file") {
    fs::remove(lbl);
    require_io_error(load, {lbl, "not found"});
  }
  SECTION("bad magic in the image file") {
    write_bytes(img, idx_bytes(1234, {3, 4, 3}, image_pixels(3, 4, 3)));
    require_io_error(load, {img, "bad magic 1234, expected 2051"});
  }
  SECTION("bad magic in the label file (u16 type byte)") {
    write_bytes(lbl, idx_bytes(0x0B01, {3}, Bytes(6, 0)));
    require_io_error(load, {lbl, "bad magic 2817, expected 2049"});
  }
  SECTION("wrong number of dims") {
    write_bytes(img, idx_bytes(0x0804, {3, 4, 3, 1}, image_pixels(3, 4, 3)));
    require_io_error(load, {img, "wrong number of dims: 4, expected 3"});
  }
  SECTION("images and labels swapped") {
    require_io_error([&] { return tape::data::load_idx_pair(lbl, img); }, {img, "wrong number of dims: 3, expected 1"});
  }
  SECTION("header cut short") {
    write_bytes(img, Bytes{0, 0, 8, 3, 0, 0, 0, 3, 0});
    require_io_error(load, {img, "truncated: 16 header bytes expected, 9 found"});
  }
  SECTION("truncated data") {
    Bytes bytes = images_file(3);
    bytes.pop_back();
    write_bytes(img, bytes);
    require_io_error(load, {img, "truncated: 52 bytes expected, 51 found"});
  }
  SECTION("trailing bytes") {
    Bytes bytes = labels_file(3);
    bytes.push_back(0);
    write_bytes(lbl, bytes);
    require_io_error(load, {lbl, "trailing bytes: 11 bytes expected, 12 found"});
  }
  SECTION("image count differs from label count") {
    write_bytes(lbl, labels_file(2));
    require_io_error(load, {img, lbl, "3 images", "2 labels"});
  }
  SECTION("label out of range") {
    write_bytes(lbl, idx_bytes(2049, {3}, Bytes{1, 10, 2}));
    require_io_error(load, {lbl, "label 10 at index 1 is out of range"});
  }
  SECTION("a zero dimension") {
    write_bytes(img, idx_bytes(2051, {3, 0, 3}, {}));
    require_io_error(load, {img, "dimension 1 is 0"});
  }
  SECTION("dims whose product overflows") {
    write_bytes(img, idx_bytes(2051, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {}));
    require_io_error(load, {img, "dims too large"});
  }
  SECTION("a directory instead of a file") {
    fs::remove(img);
    fs::create_directory(img);
    require_io_error(load, {img, "not a regular file"});
  }
}

TEST_CASE("damaged gzip streams give IOError naming the file", "[data]") {
  TempDir dir;
  const std::string img = dir.file("images.gz");
  const std::string lbl = dir.file("labels");
  write_bytes(lbl, labels_file(50));
  write_gzip(img, images_file(50, 8, 8));
  const Bytes good = read_all(img);
  REQUIRE(good.size() > 40);
  const auto load = [&] { return tape::data::load_idx_pair(img, lbl); };
  REQUIRE(load().size() == 50);

  SECTION("bytes flipped inside the deflate data") {
    Bytes bad = good;
    for (std::size_t i = 12; i < 24; ++i) bad[i] ^= 0x5A;
    write_bytes(img, bad);
    require_io_error(load, {img, "corrupt gzip stream"});
  }
  SECTION("CRC trailer damaged") {
    Bytes bad = good;
    bad[bad.size() - 6] ^= 0xFF;
    write_bytes(img, bad);
    require_io_error(load, {img, "corrupt gzip stream"});
  }
  SECTION("stream cut short") {
    write_bytes(img, Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(good.size() / 2)));
    require_io_error(load, {img, "truncated gzip stream"});
  }
  SECTION("garbage after the stream") {
    Bytes bad = good;
    bad.push_back(7);
    write_bytes(img, bad);
    require_io_error(load, {img, "trailing bytes after the gzip stream"});
  }
  SECTION("two concatenated gzip members are one file") {
    const Bytes content = images_file(50, 8, 8);
    const std::size_t half = content.size() / 2;
    write_gzip(dir.file("a"), Bytes(content.begin(), content.begin() + static_cast<std::ptrdiff_t>(half)));
    write_gzip(dir.file("b"), Bytes(content.begin() + static_cast<std::ptrdiff_t>(half), content.end()));
    Bytes both = read_all(dir.file("a"));
    const Bytes second = read_all(dir.file("b"));
    both.insert(both.end(), second.begin(), second.end());
    write_bytes(img, both);
    CHECK(tape::data::read_file_bytes(img) == content);
    CHECK(load().size() == 50);
  }
}

TEST_CASE("sha256_hex matches known digests", "[data]") {
  CHECK(tape::data::sha256_hex({}) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(tape::data::sha256_hex({'a', 'b', 'c'}) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(tape::data::mnist_sha256("t10k-labels-idx1-ubyte") ==
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2");
  CHECK(tape::data::mnist_sha256("other").empty());
}

TEST_CASE("checksum verification rejects a well-formed file with different bytes", "[data]") {
  const bool gz = GENERATE(false, true);
  INFO("gzipped: " << gz);
  TempDir dir;
  const auto write = gz ? write_gzip : write_bytes;
  const Bytes images = images_file(4);
  const Bytes labels = labels_file(4);
  const std::string images_hash = tape::data::sha256_hex(images);
  const std::string labels_hash = tape::data::sha256_hex(labels);
  write(dir.file("img"), images);
  write(dir.file("lbl"), labels);

  // The hash is of the decompressed content, so raw and gzipped verify alike (upper case is fine).
  std::string upper = images_hash;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  CHECK(tape::data::load_idx_pair(dir.file("img"), dir.file("lbl"), upper, labels_hash).size() == 4);

  Bytes changed = images;
  changed.back() ^= 1;  // still a valid IDX file
  write(dir.file("img"), changed);
  CHECK(tape::data::load_idx_pair(dir.file("img"), dir.file("lbl")).size() == 4);
  require_io_error([&] { return tape::data::load_idx_pair(dir.file("img"), dir.file("lbl"), images_hash, labels_hash); },
                   {dir.file("img"), "checksum mismatch", images_hash});
  require_io_error([&] { return tape::data::load_idx_pair(dir.file("img"), dir.file("lbl"), "", images_hash); },
                   {dir.file("lbl"), "checksum mismatch"});
}

TEST_CASE("load_mnist finds raw or .gz files and verifies checksums when asked", "[data]") {
  TempDir dir;
  SECTION("missing files name the file and say how to get them") {
    require_io_error([&] { return tape::data::load_mnist(dir.str(), true); },
                     {dir.file("train-images-idx3-ubyte"), "not found", "scripts/fetch-mnist.sh", "--data DIR"});
  }
  SECTION("synthetic files load without verification, fail with it") {
    for (const bool gz : {false, true}) {
      INFO("gzipped: " << gz);
      TempDir sub;
      write_mnist_pair(sub, "t10k", 7, gz);
      const tape::data::Dataset test = tape::data::load_mnist(sub.str(), false, false);
      CHECK(test.size() == 7);
      CHECK(test.name == "mnist-test");
      CHECK(test.images.shape() == tape::Shape{7, 4, 3, 1});
      require_io_error([&] { return tape::data::load_mnist(sub.str(), false, true); }, {"checksum mismatch"});
      require_io_error([&] { return tape::data::load_mnist(sub.str(), true, false); },
                       {"train-images-idx3-ubyte", "scripts/fetch-mnist.sh"});
    }
  }
  SECTION("the raw file wins over the .gz one") {
    write_mnist_pair(dir, "train", 3, false);
    write_bytes(dir.file("train-images-idx3-ubyte.gz"), Bytes{1, 2, 3});
    CHECK(tape::data::load_mnist(dir.str(), true, false).size() == 3);
  }
}

TEST_CASE("load_fashion_mnist reads the same layout without checksums", "[data]") {
  TempDir dir;
  write_mnist_pair(dir, "train", 6, true);
  const tape::data::Dataset data = tape::data::load_fashion_mnist(dir.str(), true);
  CHECK(data.size() == 6);
  CHECK(data.name == "fashion-mnist-train");
  require_io_error([&] { return tape::data::load_fashion_mnist(dir.str(), false); },
                   {dir.file("t10k-images-idx3-ubyte"), "dataset-fashion-mnist"});
}

TEST_CASE("CIFAR-10 records decode to [N, 32, 32, 3] in [-1, 1]", "[data]") {
  TempDir dir;
  const Bytes records = cifar_records(3);
  write_bytes(dir.file("test_batch.bin"), records);
  const tape::data::Dataset data = tape::data::load_cifar10(dir.str(), false);
  REQUIRE(data.images.shape() == tape::Shape{3, 32, 32, 3});
  CHECK(data.labels == Bytes{0, 1, 2});
  CHECK(data.name == "cifar10-test");
  for (std::int64_t r = 0; r < 3; ++r)
    for (std::int64_t y : {0, 5, 31})
      for (std::int64_t x : {0, 17, 31})
        for (std::int64_t c = 0; c < 3; ++c) {
          const auto byte = static_cast<std::uint8_t>(r + c * 50 + y * 32 + x);
          REQUIRE(data.images.at({r, y, x, c}) == pixel(byte));
        }
  // r = 0, c = 0, p = 0 is byte 0; r = 0, c = 0, p = 255 (y = 7, x = 31) is byte 255.
  CHECK(data.images.at({0, 0, 0, 0}) == -1.0);
  CHECK(data.images.at({0, 7, 31, 0}) == 1.0);
}

TEST_CASE("CIFAR-10 train concatenates data_batch_1..5", "[data]") {
  TempDir dir;
  for (int i = 1; i <= 5; ++i) write_bytes(dir.file("data_batch_" + std::to_string(i) + ".bin"), cifar_records(i));
  const tape::data::Dataset data = tape::data::load_cifar10(dir.str(), true);
  CHECK(data.size() == 15);
  CHECK(data.images.dim(0) == 15);
  CHECK(data.labels[1] == 0);  // first record of data_batch_2
  CHECK(data.name == "cifar10-train");
}

TEST_CASE("damaged CIFAR-10 files give IOError naming the file", "[data]") {
  TempDir dir;
  const std::string path = dir.file("test_batch.bin");
  const auto load = [&] { return tape::data::load_cifar10(dir.str(), false); };
  SECTION("missing") { require_io_error(load, {path, "not found", "cifar-10-binary"}); }
  SECTION("size not a multiple of 3073") {
    Bytes bytes = cifar_records(2);
    bytes.pop_back();
    write_bytes(path, bytes);
    require_io_error(load, {path, "6145 bytes is not a positive multiple of 3073"});
  }
  SECTION("empty") {
    write_bytes(path, {});
    require_io_error(load, {path, "0 bytes is not a positive multiple"});
  }
  SECTION("bad label") {
    Bytes bytes = cifar_records(3);
    bytes[2 * 3073] = 10;
    write_bytes(path, bytes);
    require_io_error(load, {path, "label 10 at index 2 is out of range"});
  }
  SECTION("one of the train files missing") {
    for (int i : {1, 2, 4, 5}) write_bytes(dir.file("data_batch_" + std::to_string(i) + ".bin"), cifar_records(1));
    require_io_error([&] { return tape::data::load_cifar10(dir.str(), true); }, {dir.file("data_batch_3.bin"), "not found"});
  }
}

TEST_CASE("gather_labels gives the labels at the indices as float ids and names a bad index", "[data]") {
  const tape::data::Dataset data = tiny_dataset(25);
  const tape::Tensor labels = tape::data::gather_labels(data, {13, 0, 24});
  REQUIRE(labels.shape() == tape::Shape{3});
  REQUIRE(labels.dtype() == tape::DType::f32);
  CHECK(labels.to_vector<double>() == std::vector<double>{static_cast<double>(data.labels[13]),
                                                          static_cast<double>(data.labels[0]),
                                                          static_cast<double>(data.labels[24])});
  CHECK_THROWS_WITH(tape::data::gather_labels(data, {25}), Catch::Contains("index 25 out of range for 25 labels"));
}

TEST_CASE("filter_class keeps one class, in order", "[data]") {
  const tape::data::Dataset data = tiny_dataset(25);
  const tape::data::Dataset threes = tape::data::filter_class(data, 3);
  REQUIRE(threes.images.shape() == tape::Shape{3, 2, 2, 1});
  CHECK(threes.labels == Bytes{3, 3, 3});
  CHECK(threes.images.at({0, 0, 0, 0}) == 3.0);
  CHECK(threes.images.at({1, 1, 1, 0}) == 13.0);
  CHECK(threes.images.at({2, 0, 1, 0}) == 23.0);
  CHECK_THROWS_AS(tape::data::filter_class(data, 10), tape::ValueError);
  CHECK_THROWS_AS(tape::data::filter_class(data, -1), tape::ValueError);
  CHECK_THROWS_AS(tape::data::filter_class(tiny_dataset(5), 7), tape::ValueError);  // no 7 among 0..4
}

TEST_CASE("shuffled_indices is a seeded permutation", "[data]") {
  tape::Generator a(42), b(42), c(43);
  const auto pa = tape::data::shuffled_indices(1000, a);
  CHECK(pa == tape::data::shuffled_indices(1000, b));
  CHECK(pa != tape::data::shuffled_indices(1000, c));
  auto sorted = pa;
  std::sort(sorted.begin(), sorted.end());
  for (std::int64_t i = 0; i < 1000; ++i) REQUIRE(sorted[static_cast<std::size_t>(i)] == i);
  CHECK(pa != sorted);
  CHECK(tape::data::shuffled_indices(0, a).empty());
  CHECK(tape::data::shuffled_indices(1, a) == std::vector<std::int64_t>{0});

  // Every position gets every value about equally often (an unbiased shuffle): 3 items, 6000 draws.
  tape::Generator g(7);
  int counts[3][3] = {};
  for (int t = 0; t < 6000; ++t) {
    const auto p = tape::data::shuffled_indices(3, g);
    for (int i = 0; i < 3; ++i) ++counts[i][p[static_cast<std::size_t>(i)]];
  }
  for (auto& row : counts)
    for (int n : row) CHECK(std::abs(n - 2000) < 150);
}

TEST_CASE("BatchIterator: deterministic shuffled batches, remainder dropped", "[data]") {
  const tape::data::Dataset data = tiny_dataset(23);
  tape::Generator g1(5), g2(5), g3(6);
  tape::data::BatchIterator it1(data, 4, g1), it2(data, 4, g2), it3(data, 4, g3);
  CHECK(it1.batches_per_epoch() == 5);
  CHECK_FALSE(it1.next().defined());  // no epoch started yet

  const auto e1 = epoch_batches(it1);
  REQUIRE(e1.size() == 5);
  CHECK(e1 == epoch_batches(it2));   // same seed, same batches
  CHECK(e1 != epoch_batches(it3));   // other seed, other batches
  const auto e2 = epoch_batches(it1);
  CHECK(e1 != e2);                   // a new permutation each epoch
  CHECK(e2 == epoch_batches(it2));

  // 20 distinct indices per epoch (3 dropped), each image at most once.
  for (const auto& epoch : {e1, e2}) {
    std::set<std::int64_t> seen;
    for (const auto& batch : epoch) seen.insert(batch.begin(), batch.end());
    CHECK(seen.size() == 20);
    CHECK(*seen.begin() >= 0);
    CHECK(*seen.rbegin() < 23);
  }

  // Over many epochs every image is seen (the dropped remainder changes with the permutation).
  std::set<std::int64_t> all;
  for (int e = 0; e < 20; ++e)
    for (const auto& batch : epoch_batches(it3)) all.insert(batch.begin(), batch.end());
  CHECK(all.size() == 23);

  // With a batch size dividing N, each epoch covers every index exactly once.
  tape::Generator g4(9);
  tape::data::BatchIterator exact(data, 23, g4);
  const auto one = epoch_batches(exact);
  REQUIRE(one.size() == 1);
  auto sorted = one[0];
  std::sort(sorted.begin(), sorted.end());
  for (std::int64_t i = 0; i < 23; ++i) CHECK(sorted[static_cast<std::size_t>(i)] == i);

  CHECK_THROWS_AS(tape::data::BatchIterator(data, 0, g4), tape::ValueError);
  CHECK_THROWS_AS(tape::data::BatchIterator(data, 24, g4), tape::ValueError);
}

TEST_CASE("real MNIST from data/mnist, sha256 verified", "[mnist]") {
  const std::string dir = std::string(TAPE_SOURCE_DIR) + "/data/mnist";
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                           "t10k-labels-idx1-ubyte"}) {
    const fs::path p = fs::path(dir) / name;
    if (!fs::exists(p) && !fs::exists(p.string() + ".gz")) {
      WARN("MNIST not found in " << dir << " (run scripts/fetch-mnist.sh); test not run");
      return;
    }
  }
  const tape::data::Dataset train = tape::data::load_mnist(dir, true);
  const tape::data::Dataset test = tape::data::load_mnist(dir, false);
  CHECK(train.images.shape() == tape::Shape{60000, 28, 28, 1});
  CHECK(test.images.shape() == tape::Shape{10000, 28, 28, 1});
  REQUIRE(train.size() == 60000);
  REQUIRE(test.size() == 10000);
  const auto v = test.images.to_vector<float>();
  CHECK(*std::min_element(v.begin(), v.end()) == -1.0f);
  CHECK(*std::max_element(v.begin(), v.end()) == 1.0f);
  // Published class counts of the test set: 980 zeros ... 1009 nines.
  const int expected[10] = {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009};
  for (int d = 0; d < 10; ++d)
    CHECK(std::count(test.labels.begin(), test.labels.end(), d) == expected[d]);
  CHECK(test.labels[0] == 7);  // the famous first test image
  CHECK(tape::data::filter_class(train, 0).size() == 5923);

  // Gzipped copies verify against the same checksums (of the decompressed content).
  TempDir gz;
  for (const char* name : {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    write_gzip(gz.file(std::string(name) + ".gz"), tape::data::read_file_bytes((fs::path(dir) / name).string()));
  const tape::data::Dataset test_gz = tape::data::load_mnist(gz.str(), false);
  CHECK(test_gz.labels == test.labels);
  CHECK(test_gz.images.to_vector<float>() == v);
}

TEST_CASE("real Fashion-MNIST from Debian's dataset-fashion-mnist", "[fashion]") {
  const std::string dir = tape::data::kFashionMnistDir;
  if (!fs::exists(fs::path(dir) / "train-images-idx3-ubyte.gz")) {
    WARN("Fashion-MNIST not found in " << dir << " (apt-get install dataset-fashion-mnist); test not run");
    return;
  }
  const tape::data::Dataset train = tape::data::load_fashion_mnist(dir, true);
  const tape::data::Dataset test = tape::data::load_fashion_mnist(dir, false);
  CHECK(train.images.shape() == tape::Shape{60000, 28, 28, 1});
  CHECK(test.images.shape() == tape::Shape{10000, 28, 28, 1});
  for (int d = 0; d < 10; ++d) CHECK(std::count(train.labels.begin(), train.labels.end(), d) == 6000);
}
