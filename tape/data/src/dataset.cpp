// Dataset files: IDX (MNIST, Fashion-MNIST) and CIFAR-10 binary files, raw or gzipped (zlib),
// SHA-256 verification (OpenSSL libcrypto), and the datasets by name.
#include "tape/data/dataset.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "tape/error.h"

namespace tape::data {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

constexpr const char* kMnistHint = "run scripts/fetch-mnist.sh (or pass --data DIR)";
constexpr const char* kFashionHint =
    "install the Debian package dataset-fashion-mnist (or pass --data DIR)";
constexpr const char* kCifarHint =
    "unpack the CIFAR-10 binary version (cifar-10-binary.tar.gz, folder cifar-10-batches-bin) "
    "and pass --data DIR";

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw tape::IOError(path + ": " + what);
}

// ---------------------------------------------------------------------------------------------
// Files and gzip

// IOError "file not found; <hint>" unless `path` names an existing regular file.
void require_file(const std::string& path, const std::string& hint) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) fail(path, "file not found" + (hint.empty() ? "" : "; " + hint));
  if (!fs::is_regular_file(status)) fail(path, "not a regular file");
}

Bytes read_raw(const std::string& path) {
  require_file(path, "");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) fail(path, "cannot get size: " + ec.message());
  Bytes bytes(size);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (static_cast<std::uintmax_t>(in.gcount()) != size) fail(path, "read error");
  return bytes;
}

bool has_gzip_magic(const Bytes& bytes, std::size_t at = 0) {
  return bytes.size() >= at + 2 && bytes[at] == 0x1f && bytes[at + 1] == 0x8b;
}

// Initial output size for inflating `in`: the gzip trailer's ISIZE (size mod 2^32), bounded by
// deflate's maximum ratio so that a damaged trailer cannot ask for absurd memory.
std::size_t gunzip_size_hint(const Bytes& in) {
  const std::size_t n = in.size();
  const std::size_t isize = n >= 4 ? (std::size_t{in[n - 4]} | std::size_t{in[n - 3]} << 8 |
                                      std::size_t{in[n - 2]} << 16 | std::size_t{in[n - 1]} << 24)
                                   : 0;
  return std::clamp<std::size_t>(isize, 1 << 16, 1032 * n + (1 << 16));
}

// Owns a zlib inflate stream.
struct Inflater {
  z_stream zs{};
  bool ok = false;
  Inflater() { ok = inflateInit2(&zs, 15 + 16) == Z_OK; }  // 15 + 16: gzip wrapper only
  ~Inflater() {
    if (ok) inflateEnd(&zs);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
};

// Decompresses one or more concatenated gzip members; anything else after them is an error.
Bytes gunzip(const Bytes& in, const std::string& path) {
  if (in.size() > UINT_MAX) fail(path, "gzip file larger than 4 GiB is not supported");
  Inflater inf;
  if (!inf.ok) fail(path, "zlib inflateInit2 failed");
  z_stream& zs = inf.zs;
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  Bytes out(gunzip_size_hint(in));
  std::size_t produced = 0;
  for (;;) {
    if (produced == out.size()) out.resize(out.size() * 2);
    const std::size_t room = std::min<std::size_t>(out.size() - produced, UINT_MAX);
    zs.next_out = out.data() + produced;
    zs.avail_out = static_cast<uInt>(room);
    const int ret = inflate(&zs, Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (ret == Z_OK) continue;
    if (ret == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      const std::size_t at = in.size() - zs.avail_in;
      if (!has_gzip_magic(in, at))
        fail(path, "trailing bytes after the gzip stream (" + std::to_string(zs.avail_in) + ")");
      inflateReset(&zs);  // another gzip member follows
      continue;
    }
    if (ret == Z_BUF_ERROR && zs.avail_in == 0) fail(path, "truncated gzip stream");
    fail(path, std::string("corrupt gzip stream (zlib: ") + (zs.msg ? zs.msg : "error " + std::to_string(ret)) +
                   ")");
  }
  out.resize(produced);
  out.shrink_to_fit();
  return out;
}

// ---------------------------------------------------------------------------------------------
// Checksums

std::string to_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// IOError "checksum mismatch" unless `expected` is empty or equals the SHA-256 of `bytes`.
void verify_sha256(const Bytes& bytes, const std::string& expected, const std::string& path) {
  if (expected.empty()) return;
  const std::string actual = sha256_hex(bytes);
  if (actual != to_lower(expected))
    fail(path, "checksum mismatch: sha256 " + actual + ", expected " + to_lower(expected) +
                   " (content decompressed when gzipped); the file is damaged or not the expected one");
}

// ---------------------------------------------------------------------------------------------
// Pixels

// (x - 127.5) / 127.5 for every byte value: 0 -> -1, 255 -> 1.
const std::array<float, 256>& pixel_table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[i] = (static_cast<float>(i) - 127.5f) / 127.5f;
    return t;
  }();
  return table;
}

// `n` scaled pixels in their stored order (IDX images are already [H, W], C = 1).
std::vector<float> scale_pixels(const std::uint8_t* src, std::size_t n) {
  const auto& table = pixel_table();
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = table[src[i]];
  return out;
}

// IOError unless every label is below 10; `first_index` numbers the labels in the message.
void check_labels(const std::uint8_t* labels, std::size_t n, const std::string& path,
                  std::size_t first_index = 0) {
  for (std::size_t i = 0; i < n; ++i)
    if (labels[i] >= 10)
      fail(path, "label " + std::to_string(labels[i]) + " at index " + std::to_string(first_index + i) +
                     " is out of range [0, 10)");
}

// ---------------------------------------------------------------------------------------------
// IDX

struct IdxKind {
  std::uint32_t magic;  // 0x0000 08 nd: u8 data, nd dims
  std::size_t dims;
  const char* what;
};
constexpr IdxKind kIdxImages{2051, 3, "IDX images"};
constexpr IdxKind kIdxLabels{2049, 1, "IDX labels"};

std::uint32_t read_be32(const Bytes& bytes, std::size_t at) {
  return std::uint32_t{bytes[at]} << 24 | std::uint32_t{bytes[at + 1]} << 16 | std::uint32_t{bytes[at + 2]} << 8 |
         std::uint32_t{bytes[at + 3]};
}

// A validated IDX file: its dims and where the data starts.
struct IdxFile {
  std::vector<std::int64_t> dims;
  std::size_t offset;
};

// Checks magic, number of dims and the exact file length against the dims.
IdxFile parse_idx(const Bytes& bytes, const std::string& path, const IdxKind& kind) {
  if (bytes.size() < 4)
    fail(path, "truncated: " + std::to_string(bytes.size()) + " bytes, too short for an IDX header");
  const std::uint32_t magic = read_be32(bytes, 0);
  if ((magic & 0xFFFFFF00u) != (kind.magic & 0xFFFFFF00u))
    fail(path, "bad magic " + std::to_string(magic) + ", expected " + std::to_string(kind.magic) + " (" +
                   kind.what + ")");
  const std::size_t ndims = magic & 0xFFu;
  if (ndims != kind.dims)
    fail(path, "wrong number of dims: " + std::to_string(ndims) + ", expected " + std::to_string(kind.dims) +
                   " (" + kind.what + ", magic " + std::to_string(kind.magic) + ")");
  IdxFile idx{{}, 4 + 4 * ndims};
  if (bytes.size() < idx.offset)
    fail(path, "truncated: " + std::to_string(idx.offset) + " header bytes expected, " +
                   std::to_string(bytes.size()) + " found");
  std::uint64_t payload = 1;
  for (std::size_t d = 0; d < ndims; ++d) {
    const std::uint32_t dim = read_be32(bytes, 4 + 4 * d);
    if (dim == 0) fail(path, "dimension " + std::to_string(d) + " is 0 (empty " + kind.what + ")");
    if (__builtin_mul_overflow(payload, std::uint64_t{dim}, &payload)) fail(path, "dims too large");
    idx.dims.push_back(dim);
  }
  std::uint64_t expected = 0;
  if (__builtin_add_overflow(payload, std::uint64_t{idx.offset}, &expected)) fail(path, "dims too large");
  const std::string sizes = std::to_string(expected) + " bytes expected, " + std::to_string(bytes.size()) + " found";
  if (bytes.size() < expected) fail(path, "truncated: " + sizes);
  if (bytes.size() > expected) fail(path, "trailing bytes: " + sizes);
  return idx;
}

// The IDX file `name` in `dir`, raw or (when the raw one is absent) with a .gz suffix.
std::string find_idx_file(const std::string& dir, const std::string& name, const std::string& hint) {
  const fs::path raw = fs::path(dir) / name;
  const fs::path gz = fs::path(dir) / (name + ".gz");
  std::error_code ec;
  if (fs::exists(raw, ec)) return raw.string();
  if (fs::exists(gz, ec)) return gz.string();
  fail(raw.string(), "file not found (nor " + name + ".gz); " + hint);
}

// Train or test pair of an MNIST-layout folder; `checksum` (may be null) gives expected SHA-256s.
Dataset load_mnist_layout(const std::string& dir, bool train, const std::string& name, const std::string& hint,
                          std::string (*checksum)(const std::string&)) {
  const std::string prefix = train ? "train" : "t10k";
  const std::string images_name = prefix + "-images-idx3-ubyte";
  const std::string labels_name = prefix + "-labels-idx1-ubyte";
  const std::string images_path = find_idx_file(dir, images_name, hint);
  const std::string labels_path = find_idx_file(dir, labels_name, hint);
  Dataset data = load_idx_pair(images_path, labels_path, checksum ? checksum(images_name) : "",
                               checksum ? checksum(labels_name) : "");
  data.name = name + (train ? "-train" : "-test");
  return data;
}

// ---------------------------------------------------------------------------------------------
// CIFAR-10

constexpr std::size_t kCifarSide = 32;
constexpr std::size_t kCifarPlane = kCifarSide * kCifarSide;  // 1024
constexpr std::size_t kCifarRecord = 1 + 3 * kCifarPlane;    // 3073

// Appends one record's pixels, planar R, G, B -> interleaved [32, 32, 3].
void append_cifar_pixels(const std::uint8_t* planes, std::vector<float>& out) {
  const auto& table = pixel_table();
  for (std::size_t p = 0; p < kCifarPlane; ++p)
    for (std::size_t c = 0; c < 3; ++c) out.push_back(table[planes[c * kCifarPlane + p]]);
}

// Appends the records of one CIFAR-10 batch file to `pixels` ([., 32, 32, 3]) and `labels`.
void append_cifar_file(const std::string& path, std::vector<float>& pixels, std::vector<std::uint8_t>& labels) {
  require_file(path, kCifarHint);
  const Bytes bytes = read_file_bytes(path);
  if (bytes.empty() || bytes.size() % kCifarRecord != 0)
    fail(path, "size " + std::to_string(bytes.size()) + " bytes is not a positive multiple of " +
                   std::to_string(kCifarRecord) + " (CIFAR-10 record: label + 3 x 32 x 32)");
  const std::size_t records = bytes.size() / kCifarRecord;
  for (std::size_t r = 0; r < records; ++r) {
    const std::uint8_t* record = bytes.data() + r * kCifarRecord;
    check_labels(record, 1, path, r);
    labels.push_back(record[0]);
    append_cifar_pixels(record + 1, pixels);
  }
}

// ---------------------------------------------------------------------------------------------
// Datasets in memory

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API

std::vector<std::uint8_t> read_file_bytes(const std::string& path) {
  Bytes bytes = read_raw(path);
  if (has_gzip_magic(bytes)) return gunzip(bytes, path);
  return bytes;
}

std::string sha256_hex(const std::vector<std::uint8_t>& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw tape::IOError("sha256: OpenSSL EVP_Digest failed");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 15]);
  }
  return out;
}

Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path,
                      const std::string& images_sha256, const std::string& labels_sha256) {
  Dataset data;
  {
    const Bytes labels = read_file_bytes(labels_path);
    verify_sha256(labels, labels_sha256, labels_path);
    const IdxFile idx = parse_idx(labels, labels_path, kIdxLabels);
    data.labels.assign(labels.begin() + static_cast<std::ptrdiff_t>(idx.offset), labels.end());
    check_labels(data.labels.data(), data.labels.size(), labels_path);
  }
  Bytes images = read_file_bytes(images_path);
  verify_sha256(images, images_sha256, images_path);
  const IdxFile idx = parse_idx(images, images_path, kIdxImages);
  if (idx.dims[0] != data.size())
    fail(images_path, "holds " + std::to_string(idx.dims[0]) + " images but " + labels_path + " holds " +
                          std::to_string(data.size()) + " labels");
  std::vector<float> pixels = scale_pixels(images.data() + idx.offset, images.size() - idx.offset);
  Bytes().swap(images);  // release the raw bytes before the tensor copy
  data.images = tape::Tensor::from_vector(pixels, tape::Shape{idx.dims[0], idx.dims[1], idx.dims[2], 1});
  data.name = images_path;
  return data;
}

tape::Tensor load_idx_images(const std::string& path) {
  const Bytes bytes = read_file_bytes(path);
  const IdxFile idx = parse_idx(bytes, path, kIdxImages);
  const std::vector<float> pixels = scale_pixels(bytes.data() + idx.offset, bytes.size() - idx.offset);
  return tape::Tensor::from_vector(pixels, tape::Shape{idx.dims[0], idx.dims[1], idx.dims[2], 1});
}

std::string mnist_sha256(const std::string& file_name) {
  static const std::array<std::pair<const char*, const char*>, 4> table{{
      {"train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"},
      {"train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"},
      {"t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"},
      {"t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"},
  }};
  for (const auto& [name, hash] : table)
    if (file_name == name) return hash;
  return "";
}

Dataset load_mnist(const std::string& dir, bool train, bool verify_checksums) {
  return load_mnist_layout(dir, train, "mnist", kMnistHint, verify_checksums ? &mnist_sha256 : nullptr);
}

Dataset load_fashion_mnist(const std::string& dir, bool train) {
  return load_mnist_layout(dir, train, "fashion-mnist", kFashionHint, nullptr);
}

Dataset load_cifar10(const std::string& dir, bool train) {
  std::vector<std::string> files;
  if (train) {
    for (int i = 1; i <= 5; ++i) files.push_back("data_batch_" + std::to_string(i) + ".bin");
  } else {
    files.push_back("test_batch.bin");
  }
  Dataset data;
  std::vector<float> pixels;
  std::uintmax_t bytes = 0;  // reserve what the files hold (10,000 records each in the real set)
  for (const auto& file : files) {
    std::error_code error;
    const std::uintmax_t size = fs::file_size(fs::path(dir) / file, error);
    if (!error) bytes += size;
  }
  pixels.reserve(static_cast<std::size_t>(std::min<std::uintmax_t>(bytes, 6 * 10000 * 3073ull)));
  for (const auto& file : files) append_cifar_file((fs::path(dir) / file).string(), pixels, data.labels);
  const auto n = data.size();
  const auto side = static_cast<std::int64_t>(kCifarSide);
  data.images = tape::Tensor::from_vector(pixels, tape::Shape{n, side, side, 3});
  data.name = train ? "cifar10-train" : "cifar10-test";
  return data;
}

// ---------------------------------------------------------------------------------------------
// Datasets by name

namespace {

struct DatasetInfo {
  const char* name;         // as --dataset takes it
  const char* title;        // in print
  const char* default_dir;  // unless --data names one
};

constexpr std::array<DatasetInfo, 3> kDatasets{{{"mnist", "MNIST", "data/mnist"},
                                                {"fashion-mnist", "Fashion-MNIST", kFashionMnistDir},
                                                {"cifar10", "CIFAR-10", "data/cifar10"}}};

const DatasetInfo& dataset_info(const std::string& dataset) {
  for (const auto& info : kDatasets)
    if (dataset == info.name) return info;
  throw tape::ValueError("--dataset: unknown dataset '" + dataset + "' (mnist, fashion-mnist, cifar10)");
}

}  // namespace

std::string default_data_dir(const std::string& dataset) { return dataset_info(dataset).default_dir; }

std::string dataset_title(const std::string& dataset) { return dataset_info(dataset).title; }

Dataset load_dataset(const std::string& dataset, const std::string& dir, bool train, bool verify_checksums) {
  const DatasetInfo& info = dataset_info(dataset);  // throws for an unknown name, --data given or not
  const std::string folder = dir.empty() ? info.default_dir : dir;
  if (dataset == "mnist") return load_mnist(folder, train, verify_checksums);
  if (dataset == "fashion-mnist") return load_fashion_mnist(folder, train);
  return load_cifar10(folder, train);
}

}  // namespace tape::data
