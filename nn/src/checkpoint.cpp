// Checkpoints in the safetensors format, readable by any safetensors reader:
//
//   [u64 little-endian N][N bytes of UTF-8 JSON header, space-padded to a multiple of 8][data]
//
// The header maps each tensor name to {"dtype": "F32"|"F64", "shape": [...], "data_offsets":
// [begin, end]} (offsets into the data buffer, contiguous, in order) plus an optional
// "__metadata__" object of string -> string. Files are written through tape::io::AtomicFile
// ("<path>.tmp-XXXXXX" beside it, fsync'ed, renamed into place, the directory fsync'ed).
//
// Checkpoint layout (prefix = "model" for the single-model overloads, else the entry's prefix):
//   tensor   "<prefix>/<variable name>"                   every model variable (named_variables())
//   tensor   "<prefix>/optimizer/<variable name>/<slot>"  optimizer slots (Optimizer::state();
//                                                         <variable name> is Variable::name())
//   metadata "format"                         = "tape-checkpoint-1"
//   metadata "<prefix>/optimizer/type"        = Optimizer::type_name() ("Adam", "SGD")
//   metadata "<prefix>/optimizer/iterations"  = the step count, decimal
//   metadata "rng/<generator name>"           = "<seed>,<counter>,<index>", decimal (GeneratorState)
//   metadata from CheckpointExtras::metadata, as given (a key may not repeat one of the above).
//
// Variable names are paths of layer names ("generator/conv2d_transpose_1/kernel"), numbered per
// model (Module::name()), so models built alike have the same keys whatever else the process
// built. Checkpoints written before that numbered default names per process: a model built after
// others in the same process had later numbers ("discriminator/dense_2/kernel" for the first Dense
// of a discriminator built after a generator with two). Loading reads them as follows. When some
// variable of a target is not in the file under "<prefix>/<variable name>", the keys under
// "<prefix>/" (variables and optimizer slots) are renumbered: for each default name of a module in
// the targets ("dense", "batch_normalization", ...), the numbers that '/'-separated parts of those
// keys carry ("dense" 0, "dense_2" 2, "dense_3" 3) are taken in ascending order and become 0, 1,
// 2, ... ("dense_2" -> "dense", "dense_3" -> "dense_1"); likewise the keys "rng/<model>/..." when a
// generator "<model>/..." is not in the file. The older numbers grew in the order a model's first
// run named its layers (each layer as it was built or had run, a Sequential or wrapper after its
// layers), the order Module::name() numbers in now, so each layer gets its own tensors back. A
// file that already has every key as it is (one written since, or by a model built first in its
// process) is read as it is; the renumbering is the identity on numbers 0, 1, 2, ... in any case.
#include "tape/nn/checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string_view>
#include <system_error>
#include <utility>

#include "numbered_names.h"
#include "tape/io/atomic_file.h"

namespace tape::nn {
namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

constexpr const char* kFormatKey = "format";
constexpr const char* kFormatValue = "tape-checkpoint-1";
constexpr const char* kMetadataKey = "__metadata__";
constexpr const char* kDefaultPrefix = "model";

// ------------------------------------------------------------------------------------ errors

// Reports "<op>: <path>: <what>" as an IOError.
[[noreturn]] void io_fail(const std::string& op, const std::string& path, const std::string& what) {
  throw IOError(op + ": " + path + ": " + what);
}

[[noreturn]] void value_fail(const std::string& op, const std::string& path, const std::string& what) {
  throw ValueError(op + ": " + path + ": " + what);
}

// The OS's text for errno value `err` (what strerror gives).
std::string os_error(int err) { return std::system_category().message(err); }

std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

// ---------------------------------------------------------------------- bytes and dtypes

void put_u64_le(unsigned char* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<unsigned char>(v >> (8 * i));
}

std::uint64_t get_u64_le(const unsigned char* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(in[i]) << (8 * i);
  return v;
}

// Converts between host order and little-endian in place (a no-op on little-endian hosts).
void to_from_little_endian(void* data, std::size_t count, std::size_t element_bytes) {
  if constexpr (std::endian::native != std::endian::little) {
    auto* bytes = static_cast<unsigned char*>(data);
    for (std::size_t i = 0; i < count; ++i) std::reverse(bytes + i * element_bytes, bytes + (i + 1) * element_bytes);
  } else {
    (void)data, (void)count, (void)element_bytes;
  }
}

std::string dtype_tag(DType dtype) { return dtype == DType::f64 ? "F64" : "F32"; }

std::optional<DType> parse_dtype_tag(const std::string& tag) {
  if (tag == "F32") return DType::f32;
  if (tag == "F64") return DType::f64;
  return std::nullopt;
}

std::uint64_t tensor_bytes(const Tensor& t) { return static_cast<std::uint64_t>(t.numel()) * element_size(t.dtype()); }

// A whole-string unsigned decimal ("0", "42"; no sign, no spaces).
std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// --------------------------------------------------------------------------- file handles

// An owned POSIX file descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes the current descriptor (returning 0 or the errno of close()) and takes `fd`.
  int reset(int fd = -1) {
    const int old = std::exchange(fd_, fd);
    return old >= 0 && ::close(old) != 0 ? errno : 0;
  }

 private:
  int fd_;
};

// Reads exactly n bytes at `offset`; returns 0, errno, or -1 at an unexpected end of file.
int read_exact(int fd, void* data, std::size_t n, std::uint64_t offset) {
  auto* p = static_cast<unsigned char*>(data);
  while (n > 0) {
    const ssize_t k = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return errno;
    if (k == 0) return -1;
    p += k;
    n -= static_cast<std::size_t>(k);
    offset += static_cast<std::uint64_t>(k);
  }
  return 0;
}

// ------------------------------------------------------------------------------ writing

void check_writable(const TensorFile& file, const std::string& path, const std::string& op) {
  for (const auto& [name, tensor] : file.tensors) {
    if (name == kMetadataKey) value_fail(op, path, "a tensor may not be named " + in_quotes(kMetadataKey));
    if (!tensor.defined()) value_fail(op, path, "tensor " + in_quotes(name) + " is undefined");
  }
}

// The JSON header, space-padded to a multiple of 8 bytes (as the reference implementation does).
std::string make_header(const TensorFile& file, const std::string& path, const std::string& op) {
  ordered_json header = ordered_json::object();
  if (!file.metadata.empty()) header[kMetadataKey] = file.metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : file.tensors) {
    const std::uint64_t end = offset + tensor_bytes(tensor);
    header[name] = {
        {"dtype", dtype_tag(tensor.dtype())}, {"shape", tensor.shape().dims()}, {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const ordered_json::exception& e) {  // invalid UTF-8 in a name or a metadata string
    value_fail(op, path, std::string("cannot encode the header: ") + e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

void write_tensor_data(io::AtomicFile& out, const Tensor& t) {
  if constexpr (std::endian::native == std::endian::little) {
    out.write(t.raw_data(), tensor_bytes(t));
  } else {
    const auto* bytes = static_cast<const unsigned char*>(t.raw_data());
    std::vector<unsigned char> copy(bytes, bytes + tensor_bytes(t));
    to_from_little_endian(copy.data(), static_cast<std::size_t>(t.numel()), element_size(t.dtype()));
    out.write(copy.data(), copy.size());
  }
}

void write_tensor_file(const std::string& path, const TensorFile& file, const std::string& op) {
  check_writable(file, path, op);
  const std::string header = make_header(file, path, op);
  unsigned char length[8];
  put_u64_le(length, header.size());
  io::AtomicFile out(path, op);
  out.write(length, sizeof length);
  out.write(header.data(), header.size());
  for (const auto& [name, tensor] : file.tensors) write_tensor_data(out, tensor);
  out.commit();
}

// ------------------------------------------------------------------------------ reading

// One tensor's header entry, verified on its own.
struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  std::uint64_t begin = 0, end = 0;
};

// Reads and verifies one file; every problem is an IOError "<op>: <path>: ...".
class Reader {
 public:
  Reader(std::string path, std::string op) : path_(std::move(path)), op_(std::move(op)) {}

  TensorFile read() {
    open_file();
    const json header = read_header();
    TensorFile out;
    std::vector<Entry> entries;
    for (const auto& [key, value] : header.items()) {
      if (key == kMetadataKey) {
        out.metadata = parse_metadata(value);
      } else {
        entries.push_back(parse_entry(key, value));
      }
    }
    check_layout(entries);
    for (const Entry& e : entries) out.tensors.emplace(e.name, read_tensor(e));
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { io_fail(op_, path_, what); }
  [[noreturn]] void fail(const std::string& tensor, const std::string& what) const {
    fail("tensor " + in_quotes(tensor) + ": " + what);
  }

  void open_file() {
    fd_.reset(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd_.get() < 0) fail("cannot open: " + os_error(errno));
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) fail("cannot stat: " + os_error(errno));
    if (!S_ISREG(st.st_mode)) fail("not a regular file");
    file_size_ = static_cast<std::uint64_t>(st.st_size);
  }

  void read_bytes(void* out, std::uint64_t n, std::uint64_t offset, const std::string& what) const {
    const int err = read_exact(fd_.get(), out, static_cast<std::size_t>(n), offset);
    if (err == -1) fail("cannot read " + what + ": the file ended early (it changed while being read?)");
    if (err != 0) fail("cannot read " + what + ": " + os_error(err));
  }

  json read_header() {
    if (file_size_ < 8)
      fail("the file is " + std::to_string(file_size_) + " bytes, too short for the 8-byte header length");
    unsigned char length_bytes[8];
    read_bytes(length_bytes, 8, 0, "the header length");
    const std::uint64_t length = get_u64_le(length_bytes);
    if (length > file_size_ - 8)
      fail("the header length " + std::to_string(length) + " is larger than the rest of the file (" +
           std::to_string(file_size_ - 8) + " bytes)");
    data_start_ = 8 + length;
    std::string text(static_cast<std::size_t>(length), '\0');
    read_bytes(text.data(), length, 8, "the header");
    json header;
    try {
      header = json::parse(text);
    } catch (const json::exception& e) {
      fail(std::string("the header is not valid JSON: ") + e.what());
    }
    if (!header.is_object()) fail("the header is not a JSON object");
    return header;
  }

  std::map<std::string, std::string> parse_metadata(const json& value) const {
    if (!value.is_object()) fail(std::string(kMetadataKey) + " is not a JSON object");
    std::map<std::string, std::string> out;
    for (const auto& [key, v] : value.items()) {
      if (!v.is_string()) fail(std::string(kMetadataKey) + " entry " + in_quotes(key) + " is not a string");
      out.emplace(key, v.get<std::string>());
    }
    return out;
  }

  // A non-negative integer that fits in int64 (shape entries, offsets); `what` names it.
  std::uint64_t parse_count(const std::string& name, const json& v, const std::string& what) const {
    if (v.is_number_integer() && !v.is_number_unsigned()) fail(name, what + " is negative");
    if (!v.is_number_unsigned()) fail(name, what + " is not an integer");
    const auto n = v.get<std::uint64_t>();
    if (n > static_cast<std::uint64_t>(INT64_MAX)) fail(name, what + " is too large");
    return n;
  }

  const json& field(const std::string& name, const json& entry, const char* key) const {
    const auto it = entry.find(key);
    if (it == entry.end()) fail(name, std::string("missing \"") + key + "\"");
    return *it;
  }

  Entry parse_entry(const std::string& name, const json& entry) const {
    if (!entry.is_object()) fail(name, "the entry is not a JSON object");
    Entry e;
    e.name = name;
    const json& dtype = field(name, entry, "dtype");
    if (!dtype.is_string()) fail(name, "\"dtype\" is not a string");
    const auto parsed = parse_dtype_tag(dtype.get<std::string>());
    if (!parsed) fail(name, "unsupported dtype " + in_quotes(dtype.get<std::string>()) + " (tape reads F32 and F64)");
    e.dtype = *parsed;
    e.shape = parse_shape(name, field(name, entry, "shape"));
    parse_offsets(e, field(name, entry, "data_offsets"));
    return e;
  }

  Shape parse_shape(const std::string& name, const json& shape) const {
    if (!shape.is_array()) fail(name, "\"shape\" is not an array");
    std::vector<std::int64_t> dims;
    std::uint64_t numel = 1;
    for (const json& d : shape) {
      const std::uint64_t n = parse_count(name, d, "a dimension in \"shape\"");
      if (__builtin_mul_overflow(numel, n, &numel) || numel > static_cast<std::uint64_t>(INT64_MAX) / 8)
        fail(name, "the shape " + shape.dump() + " has too many elements");
      dims.push_back(static_cast<std::int64_t>(n));
    }
    return Shape(std::move(dims));
  }

  void parse_offsets(Entry& e, const json& offsets) const {
    if (!offsets.is_array() || offsets.size() != 2) fail(e.name, "\"data_offsets\" is not an array [begin, end]");
    e.begin = parse_count(e.name, offsets[0], "the begin of \"data_offsets\"");
    e.end = parse_count(e.name, offsets[1], "the end of \"data_offsets\"");
    const std::uint64_t needed = static_cast<std::uint64_t>(e.shape.numel()) * element_size(e.dtype);
    if (e.end < e.begin || e.end - e.begin != needed)
      fail(e.name,
           "data_offsets " + offsets.dump() + " span " +
               (e.end < e.begin ? std::string("a negative range") : std::to_string(e.end - e.begin) + " bytes") +
               " but shape " + e.shape.to_string() + " of " + dtype_tag(e.dtype) + " needs " + std::to_string(needed));
    if (e.end > data_size())
      fail(e.name, "data_offsets " + offsets.dump() + " reach past the end of the data buffer (" +
                       std::to_string(data_size()) + " bytes)");
  }

  std::uint64_t data_size() const { return file_size_ - data_start_; }

  // The buffers must tile the data buffer exactly: sorted by offset, no gap, no overlap, no tail.
  void check_layout(std::vector<Entry>& entries) const {
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return std::pair(a.begin, a.end) < std::pair(b.begin, b.end); });
    std::uint64_t position = 0;
    const Entry* previous = nullptr;
    for (const Entry& e : entries) {
      if (e.begin < position)
        fail("tensors " + in_quotes(previous->name) + " and " + in_quotes(e.name) + " overlap in the data buffer");
      if (e.begin > position)
        fail(e.name, "a gap of " + std::to_string(e.begin - position) + " bytes precedes it in the data buffer");
      position = e.end;
      previous = &e;
    }
    if (position != data_size())
      fail(std::to_string(data_size() - position) + " trailing bytes after the last tensor in the data buffer");
  }

  Tensor read_tensor(const Entry& e) const {
    return e.dtype == DType::f64 ? read_typed<double>(e) : read_typed<float>(e);
  }

  template <class T>
  Tensor read_typed(const Entry& e) const {
    std::vector<T> values(static_cast<std::size_t>(e.shape.numel()));
    read_bytes(values.data(), e.end - e.begin, data_start_ + e.begin, "tensor " + in_quotes(e.name));
    to_from_little_endian(values.data(), values.size(), sizeof(T));
    return Tensor::from_vector(values, e.shape);
  }

  std::string path_, op_;
  Fd fd_;
  std::uint64_t file_size_ = 0;
  std::uint64_t data_start_ = 0;
};

// --------------------------------------------------------------------------- checkpoints

std::string optimizer_prefix(const std::string& prefix) { return prefix + "/optimizer/"; }
std::string type_key(const std::string& prefix) { return prefix + "/optimizer/type"; }
std::string iterations_key(const std::string& prefix) { return prefix + "/optimizer/iterations"; }
std::string generator_key(const std::string& name) { return "rng/" + name; }

std::string format_generator_state(const GeneratorState& s) {
  return std::to_string(s.seed) + "," + std::to_string(s.counter) + "," + std::to_string(s.index);
}

std::optional<GeneratorState> parse_generator_state(const std::string& text) {
  const auto first = text.find(',');
  const auto second = first == std::string::npos ? first : text.find(',', first + 1);
  if (second == std::string::npos) return std::nullopt;
  const std::string_view s(text);
  const auto seed = parse_u64(s.substr(0, first));
  const auto counter = parse_u64(s.substr(first + 1, second - first - 1));
  const auto index = parse_u64(s.substr(second + 1));
  if (!seed || !counter || !index || *index > 4) return std::nullopt;
  return GeneratorState{*seed, *counter, static_cast<std::uint32_t>(*index)};
}

// A prefix names one model in the file: non-empty, without '/', and unique.
void check_prefixes(const std::vector<std::string>& prefixes, const std::string& path, const std::string& op) {
  std::set<std::string> seen;
  for (const std::string& p : prefixes) {
    if (p.empty() || p.find('/') != std::string::npos)
      value_fail(op, path, "the prefix " + in_quotes(p) + " must be non-empty and contain no '/'");
    if (!seen.insert(p).second) value_fail(op, path, "the prefix " + in_quotes(p) + " is used twice");
  }
}

// Builds the TensorFile of a checkpoint; names that collide are a ValueError.
class CheckpointBuilder {
 public:
  CheckpointBuilder(const std::string& path, const std::string& op) : path_(path), op_(op) {
    add_metadata(kFormatKey, kFormatValue);
  }

  void add_entry(const CheckpointEntry& entry) {
    if (entry.model == nullptr) value_fail(op_, path_, "the model for prefix " + in_quotes(entry.prefix) + " is null");
    std::set<std::string> variable_names;
    for (const NamedVariable& nv : entry.model->named_variables()) {
      if (entry.variables) add_tensor(entry.prefix + "/" + nv.name, nv.variable.peek());
      variable_names.insert(nv.variable.name());
    }
    if (entry.optimizer != nullptr) add_optimizer(entry.prefix, *entry.optimizer, variable_names);
  }

  void add_extras(const CheckpointExtras& extras) {
    for (const auto& [name, gen] : extras.generators) {
      if (gen == nullptr) value_fail(op_, path_, "the generator " + in_quotes(name) + " is null");
      add_metadata(generator_key(name), format_generator_state(gen->state()));
    }
    for (const auto& [key, value] : extras.metadata) add_metadata(key, value);
  }

  const TensorFile& file() const { return file_; }

 private:
  void add_optimizer(const std::string& prefix, const Optimizer& optimizer, const std::set<std::string>& variables) {
    add_metadata(type_key(prefix), optimizer.type_name());
    add_metadata(iterations_key(prefix), std::to_string(optimizer.iterations()));
    for (const SlotTensor& slot : optimizer.state()) {
      if (!variables.contains(slot.variable))
        value_fail(op_, path_,
                   "the optimizer for " + in_quotes(prefix) + " has state for variable " + in_quotes(slot.variable) +
                       ", which is not in that model");
      add_tensor(optimizer_prefix(prefix) + slot.variable + "/" + slot.slot, slot.value);
    }
  }

  void add_tensor(const std::string& name, const Tensor& value) {
    if (!file_.tensors.emplace(name, value).second)
      value_fail(op_, path_, "the tensor name " + in_quotes(name) + " repeats");
  }

  void add_metadata(const std::string& key, const std::string& value) {
    if (!file_.metadata.emplace(key, value).second)
      value_fail(op_, path_, "the metadata key " + in_quotes(key) + " repeats (or is reserved)");
  }

  const std::string& path_;
  const std::string& op_;
  TensorFile file_;
};

// ------------------------------------------------------------ keys numbered per process

// The parts of a '/'-separated path.
std::vector<std::string> path_parts(const std::string& path) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  for (std::size_t end = path.find('/'); end != std::string::npos; end = path.find('/', begin)) {
    out.push_back(path.substr(begin, end - begin));
    begin = end + 1;
  }
  out.push_back(path.substr(begin));
  return out;
}

// Every default name ("dense", "sequential") in m's tree.
void add_default_names(const Module& m, std::set<std::string>& out) {
  out.insert(m.default_name());
  for (const Module* c : m.children()) add_default_names(*c, out);
}

// Renumbers the layer names in the keys of `entries` under `group` ("discriminator/"): for each
// default name in `bases`, the numbers its parts carry, ascending, become 0, 1, 2, ...
template <class T>
void renumber_layers(std::map<std::string, T>& entries, const std::string& group, const std::set<std::string>& bases) {
  std::vector<std::pair<std::vector<std::string>, T>> moved;  // each key's parts after `group`
  std::map<std::string, std::set<std::int64_t>> numbers;
  auto it = entries.lower_bound(group);
  while (it != entries.end() && it->first.starts_with(group)) {
    moved.emplace_back(path_parts(it->first.substr(group.size())), std::move(it->second));
    for (const std::string& part : moved.back().first) {
      const auto [base, n] = split_numbered_name(part);
      if (bases.contains(base)) numbers[base].insert(n);
    }
    it = entries.erase(it);
  }
  std::map<std::string, std::string> renamed;  // "dense_3" -> "dense_1"
  for (const auto& [base, ns] : numbers) {
    std::int64_t rank = 0;
    for (const std::int64_t n : ns) renamed[numbered_name(base, n)] = numbered_name(base, rank++);
  }
  for (auto& [parts, value] : moved) {
    std::string key = group;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const auto r = renamed.find(parts[i]);
      key += (i > 0 ? "/" : "") + (r == renamed.end() ? parts[i] : r->second);
    }
    entries.emplace(std::move(key), std::move(value));
  }
}

// Reads keys numbered per process (see the top of this file) where the file lacks a key the
// targets or generators need.
void renumber_older_keys(TensorFile& file, const std::vector<CheckpointTarget>& targets,
                         const std::vector<std::pair<std::string, Generator*>>& generators) {
  std::set<std::string> bases;
  for (const CheckpointTarget& t : targets) add_default_names(*t.model, bases);
  for (const CheckpointTarget& t : targets) {
    if (!t.variables) continue;  // optimizer state only: written by releases that number layers per model
    const auto variables = t.model->named_variables();
    const bool complete = std::all_of(variables.begin(), variables.end(), [&](const NamedVariable& nv) {
      return file.tensors.contains(t.prefix + "/" + nv.name);
    });
    if (!complete) renumber_layers(file.tensors, t.prefix + "/", bases);
  }
  for (const auto& [name, gen] : generators) {
    if (!file.metadata.contains(generator_key(name)))
      renumber_layers(file.metadata, generator_key(name.substr(0, name.find('/'))) + "/", bases);
  }
}

// What load_checkpoint will change, gathered and verified before anything is changed.
struct LoadPlan {
  struct OptimizerState {
    Optimizer* optimizer = nullptr;
    std::vector<SlotTensor> slots;
    std::int64_t iterations = 0;
  };
  std::vector<std::pair<Variable, Tensor>> variables;
  std::vector<OptimizerState> optimizers;
  std::vector<std::pair<Generator*, GeneratorState>> generators;

  void apply() {
    for (auto& [variable, value] : variables) variable.assign(value);
    for (const OptimizerState& o : optimizers) o.optimizer->load_state(o.slots, o.iterations);
    for (const auto& [gen, state] : generators) gen->set_state(state);
  }
};

// Matches a verified TensorFile against the targets; every mismatch is an IOError.
class CheckpointMatcher {
 public:
  CheckpointMatcher(const std::string& path, const TensorFile& file) : path_(path), file_(file) {}

  void check_format() const {
    const auto it = file_.metadata.find(kFormatKey);
    if (it != file_.metadata.end() && it->second != kFormatValue)
      fail("the format is " + in_quotes(it->second) + ", not " + in_quotes(kFormatValue));
  }

  void plan_target(const CheckpointTarget& target, LoadPlan& plan) const {
    std::set<std::string> used;
    for (const NamedVariable& nv : target.model->named_variables()) {
      if (!target.variables) break;
      const std::string name = target.prefix + "/" + nv.name;
      plan.variables.emplace_back(nv.variable, find_matching(name, nv.variable, "the model"));
      used.insert(name);
    }
    check_no_extra_tensors(target.prefix, used);
    if (target.optimizer != nullptr) plan_optimizer(target, plan);
  }

  void plan_generator(const std::string& name, Generator* gen, LoadPlan& plan) const {
    const std::string key = generator_key(name);
    const auto it = file_.metadata.find(key);
    if (it == file_.metadata.end()) fail("the generator state " + in_quotes(key) + " is missing from the file");
    const auto state = parse_generator_state(it->second);
    if (!state)
      fail("the generator state " + in_quotes(key) + " = " + in_quotes(it->second) + " is not 'seed,counter,index'");
    plan.generators.emplace_back(gen, *state);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { io_fail("load_checkpoint", path_, what); }

  // The file's tensor `name`, which must have `variable`'s shape and dtype.
  const Tensor& find_matching(const std::string& name, const Variable& variable, const char* owner) const {
    const auto it = file_.tensors.find(name);
    if (it == file_.tensors.end()) fail("tensor " + in_quotes(name) + " is missing from the file");
    const Tensor& t = it->second;
    if (t.dtype() != variable.dtype())
      fail("tensor " + in_quotes(name) + " has dtype " + to_string(t.dtype()) + " in the file but " +
           to_string(variable.dtype()) + " in " + owner);
    if (t.shape() != variable.shape())
      fail("tensor " + in_quotes(name) + " has shape " + t.shape().to_string() + " in the file but " +
           variable.shape().to_string() + " in " + owner);
    return t;
  }

  // A tensor under "<prefix>/" that is neither a model variable nor optimizer state means the
  // file holds a different model.
  void check_no_extra_tensors(const std::string& prefix, const std::set<std::string>& used) const {
    const std::string model_prefix = prefix + "/";
    for (const auto& [name, tensor] : file_.tensors) {
      if (name.starts_with(model_prefix) && !name.starts_with(optimizer_prefix(prefix)) && !used.contains(name))
        fail("tensor " + in_quotes(name) + " in the file is not a variable of the model" +
             (used.empty() ? " (the model has no variables: build it before loading)" : ""));
    }
  }

  void plan_optimizer(const CheckpointTarget& target, LoadPlan& plan) const {
    const std::string& prefix = target.prefix;
    const auto slots = optimizer_tensors(prefix);
    const auto type = file_.metadata.find(type_key(prefix));
    const auto iterations = file_.metadata.find(iterations_key(prefix));
    if (slots.empty() && type == file_.metadata.end() && iterations == file_.metadata.end()) return;  // none saved
    if (type == file_.metadata.end()) fail("optimizer state without " + in_quotes(type_key(prefix)));
    if (type->second != target.optimizer->type_name())
      fail("the optimizer state " + in_quotes(type_key(prefix)) + " is for " + type->second + " but the optimizer is " +
           target.optimizer->type_name());
    if (iterations == file_.metadata.end()) fail("optimizer state without " + in_quotes(iterations_key(prefix)));
    const auto count = parse_u64(iterations->second);
    if (!count || *count > static_cast<std::uint64_t>(INT64_MAX))
      fail(in_quotes(iterations_key(prefix)) + " = " + in_quotes(iterations->second) + " is not a step count");
    LoadPlan::OptimizerState state{target.optimizer, {}, static_cast<std::int64_t>(*count)};
    const auto variables = variables_by_name(*target.model);
    for (const auto& [name, tensor] : slots) state.slots.push_back(plan_slot(prefix, name, variables));
    plan.optimizers.push_back(std::move(state));
  }

  std::vector<std::pair<std::string, Tensor>> optimizer_tensors(const std::string& prefix) const {
    std::vector<std::pair<std::string, Tensor>> out;
    for (const auto& [name, tensor] : file_.tensors)
      if (name.starts_with(optimizer_prefix(prefix))) out.emplace_back(name, tensor);
    return out;
  }

  static std::map<std::string, Variable> variables_by_name(const Module& model) {
    std::map<std::string, Variable> out;
    for (const NamedVariable& nv : model.named_variables()) out.emplace(nv.variable.name(), nv.variable);
    return out;
  }

  // "<prefix>/optimizer/<variable>/<slot>" -> a SlotTensor with the variable's shape and dtype.
  SlotTensor plan_slot(const std::string& prefix, const std::string& name,
                       const std::map<std::string, Variable>& variables) const {
    const std::string rest = name.substr(optimizer_prefix(prefix).size());
    const auto slash = rest.rfind('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size())
      fail("tensor " + in_quotes(name) + " is not named " + in_quotes(optimizer_prefix(prefix) + "<variable>/<slot>"));
    SlotTensor slot{rest.substr(0, slash), rest.substr(slash + 1), {}};
    const auto it = variables.find(slot.variable);
    if (it == variables.end())
      fail("tensor " + in_quotes(name) + " is optimizer state for " + in_quotes(slot.variable) +
           ", which is not in the model");
    slot.value = find_matching(name, it->second, "the model's variable");
    return slot;
  }

  const std::string& path_;
  const TensorFile& file_;
};

void check_targets(const std::vector<CheckpointTarget>& targets, const std::string& path) {
  std::vector<std::string> prefixes;
  for (const CheckpointTarget& t : targets) {
    if (t.model == nullptr)
      value_fail("load_checkpoint", path, "the model for prefix " + in_quotes(t.prefix) + " is null");
    prefixes.push_back(t.prefix);
  }
  check_prefixes(prefixes, path, "load_checkpoint");
}

}  // namespace

void save_safetensors(const std::string& path, const TensorFile& file) {
  write_tensor_file(path, file, "save_safetensors");
}

TensorFile load_safetensors(const std::string& path) { return Reader(path, "load_safetensors").read(); }

void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer,
                     const CheckpointExtras& extras) {
  save_checkpoint(path, {CheckpointEntry{kDefaultPrefix, &model, optimizer}}, extras);
}

void save_checkpoint(const std::string& path, const std::vector<CheckpointEntry>& entries,
                     const CheckpointExtras& extras) {
  const std::string op = "save_checkpoint";
  std::vector<std::string> prefixes;
  for (const CheckpointEntry& e : entries) prefixes.push_back(e.prefix);
  check_prefixes(prefixes, path, op);
  CheckpointBuilder builder(path, op);
  for (const CheckpointEntry& e : entries) builder.add_entry(e);
  builder.add_extras(extras);
  write_tensor_file(path, builder.file(), op);
}

std::map<std::string, std::string> load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer,
                                                   const std::vector<std::pair<std::string, Generator*>>& generators) {
  return load_checkpoint(path, {CheckpointTarget{kDefaultPrefix, &model, optimizer}}, generators);
}

std::map<std::string, std::string> load_checkpoint(const std::string& path,
                                                   const std::vector<CheckpointTarget>& targets,
                                                   const std::vector<std::pair<std::string, Generator*>>& generators) {
  check_targets(targets, path);
  for (const auto& [name, gen] : generators)
    if (gen == nullptr) value_fail("load_checkpoint", path, "the generator " + in_quotes(name) + " is null");
  TensorFile file = Reader(path, "load_checkpoint").read();
  renumber_older_keys(file, targets, generators);
  const CheckpointMatcher matcher(path, file);
  matcher.check_format();
  LoadPlan plan;
  for (const CheckpointTarget& t : targets) matcher.plan_target(t, plan);
  for (const auto& [name, gen] : generators) matcher.plan_generator(name, gen, plan);
  plan.apply();
  return file.metadata;
}

}  // namespace tape::nn
