// Image datasets: MNIST / Fashion-MNIST (IDX, raw or gzipped) and CIFAR-10 (binary version)
// loaded as NHWC float32 images in [-1, 1], by name ("mnist", ...) or by reader.
// Every failure to read or validate a file throws tape::IOError naming the file.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tape/tensor.h"

namespace tape::data {

// A labelled image set.
struct Dataset {
  tape::Tensor images;                // [N, H, W, C] float32, (x - 127.5) / 127.5, so in [-1, 1]
  std::vector<std::uint8_t> labels;   // [N], each in [0, 10)
  std::string name;                   // "mnist-train", "cifar10-test", ... (for logs)

  std::int64_t size() const { return static_cast<std::int64_t>(labels.size()); }
};

// The whole content of `path`, decompressed when it starts with the gzip magic 1f 8b (any file
// name). Throws tape::IOError when the file is missing or unreadable, or the gzip stream is corrupt.
std::vector<std::uint8_t> read_file_bytes(const std::string& path);

// Lower-case hex SHA-256 of `bytes` (64 characters).
std::string sha256_hex(const std::vector<std::uint8_t>& bytes);

// An IDX image file (magic 2051: u8, 3 dims [N, H, W]) and its label file (magic 2049: u8,
// 1 dim [N]), each raw or gzipped. Checks magic, dims, exact sizes (no truncation, no trailing
// bytes), equal counts and labels < 10. When an expected SHA-256 is given (non-empty) the
// decompressed content must match it ("checksum mismatch" otherwise). Returns [N, H, W, 1].
Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path,
                      const std::string& images_sha256 = "", const std::string& labels_sha256 = "");

// An IDX image file alone (magic 2051: u8 [N, H, W], raw or gzipped), e.g. generated images
// written by the DCGAN example's `dcgan sample --out x.idx` or by another program: [N, H, W, 1] in [-1, 1].
tape::Tensor load_idx_images(const std::string& path);

// MNIST from `dir`: train-{images-idx3,labels-idx1}-ubyte (or t10k-* when !train), each raw or
// with a .gz suffix (the raw file wins when both exist). With `verify_checksums` the (decompressed)
// content must match the published SHA-256 of the uncompressed files. [60000|10000, 28, 28, 1].
Dataset load_mnist(const std::string& dir, bool train, bool verify_checksums = true);

// The published SHA-256 of an uncompressed MNIST file ("train-images-idx3-ubyte", ...);
// empty for any other name.
std::string mnist_sha256(const std::string& file_name);

// Where Debian's dataset-fashion-mnist package installs its gzipped IDX files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Fashion-MNIST from `dir` (same names and formats as MNIST). Debian recompressed the .gz files,
// so only format and sizes are checked, not checksums. [60000|10000, 28, 28, 1].
Dataset load_fashion_mnist(const std::string& dir = kFashionMnistDir, bool train = true);

// CIFAR-10, binary version: data_batch_1..5.bin (train) or test_batch.bin from `dir`. Records of
// 3073 bytes: label, then 1024 R, 1024 G, 1024 B (32x32 row-major). Each file must hold a
// positive whole number of records (10000 in the real files). Returns [N, 32, 32, 3].
Dataset load_cifar10(const std::string& dir, bool train);

// The datasets by the names --dataset takes: "mnist", "fashion-mnist", "cifar10". Each function
// throws tape::ValueError naming --dataset and the value for any other name.
// The folder a dataset is read from unless --data names one: data/mnist, kFashionMnistDir,
// data/cifar10.
std::string default_data_dir(const std::string& dataset);
// The dataset's name in print: "MNIST", "Fashion-MNIST", "CIFAR-10".
std::string dataset_title(const std::string& dataset);
// The training or test set of `dataset` from `dir` (default_data_dir when empty);
// verify_checksums applies to MNIST only.
Dataset load_dataset(const std::string& dataset, const std::string& dir, bool train, bool verify_checksums = true);

}  // namespace tape::data
