// The MPI environment and Communicator: thin, checked wrappers over MPI's C API.
#include "tape/distributed/communicator.h"

#include <mpi.h>

#include <cstdlib>
#include <limits>

namespace tape::distributed {
namespace {

bool g_initialized_here = false;

// Throws DistributedError naming `call` with MPI's text for `code` unless it is MPI_SUCCESS.
void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw DistributedError(std::string(call) + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}

MPI_Comm comm_of(int handle) { return MPI_Comm_f2c(handle); }

int count_of(std::int64_t n, const char* call) {
  if (n < 0 || n > std::numeric_limits<int>::max()) {
    throw DistributedError(std::string(call) + ": " + std::to_string(n) + " values do not fit one MPI message");
  }
  return static_cast<int>(n);
}

void check_root(int root, int size, const char* call) {
  if (root < 0 || root >= size) {
    throw DistributedError(std::string(call) + ": root " + std::to_string(root) + " is not a rank of " +
                           std::to_string(size));
  }
}

}  // namespace

bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

Environment::Environment() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) throw DistributedError("distributed::Environment: MPI is already initialized in this process");
  int provided = 0;
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  g_initialized_here = true;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  if (provided < MPI_THREAD_FUNNELED) {
    MPI_Finalize();
    g_initialized_here = false;
    throw DistributedError("distributed::Environment: this MPI does not provide MPI_THREAD_FUNNELED");
  }
}

Environment::~Environment() {
  if (g_initialized_here) MPI_Finalize();
  g_initialized_here = false;
}

bool Environment::active() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  return g_initialized_here && !finalized;
}

Communicator Communicator::world() {
  if (!Environment::active()) {
    throw DistributedError("Communicator::world: MPI is not initialized: create a tape::distributed::Environment first");
  }
  int rank = 0, size = 0;
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &size), "MPI_Comm_size");
  return Communicator(MPI_Comm_c2f(MPI_COMM_WORLD), rank, size);
}

void Communicator::abort(int code) const { MPI_Abort(comm_of(handle_), code); }

void Communicator::barrier() const { check(MPI_Barrier(comm_of(handle_)), "MPI_Barrier"); }

std::int64_t Communicator::broadcast(std::int64_t value, int root) const {
  check_root(root, size_, "broadcast");
  check(MPI_Bcast(&value, 1, MPI_INT64_T, root, comm_of(handle_)), "MPI_Bcast");
  return value;
}

std::string Communicator::broadcast(const std::string& text, int root) const {
  const std::int64_t n = broadcast(static_cast<std::int64_t>(text.size()), root);
  std::string out = rank_ == root ? text : std::string(static_cast<std::size_t>(n), '\0');
  check(MPI_Bcast(out.data(), count_of(n, "broadcast"), MPI_CHAR, root, comm_of(handle_)), "MPI_Bcast");
  return out;
}

// [dtype, rank, dims...] of root's x, then its values.
Tensor Communicator::broadcast(const Tensor& x, int root) const {
  check_root(root, size_, "broadcast");
  std::vector<std::int64_t> header;
  if (rank_ == root) {
    if (!x.defined()) throw DistributedError("broadcast: the root's tensor is undefined");
    header = {x.dtype() == DType::f64 ? 1 : 0, x.rank()};
    for (const std::int64_t d : x.shape().dims()) header.push_back(d);
  }
  const std::int64_t header_size = broadcast(static_cast<std::int64_t>(header.size()), root);
  header.resize(static_cast<std::size_t>(header_size));
  check(MPI_Bcast(header.data(), count_of(header_size, "broadcast"), MPI_INT64_T, root, comm_of(handle_)), "MPI_Bcast");
  const DType dtype = header[0] == 1 ? DType::f64 : DType::f32;
  const Shape shape(std::vector<std::int64_t>(header.begin() + 2, header.end()));
  const int n = count_of(shape.numel(), "broadcast");
  if (dtype == DType::f64) {
    std::vector<double> values = rank_ == root ? x.to_vector<double>() : std::vector<double>(static_cast<std::size_t>(n));
    check(MPI_Bcast(values.data(), n, MPI_DOUBLE, root, comm_of(handle_)), "MPI_Bcast");
    return Tensor::from_data(values.data(), shape);
  }
  std::vector<float> values = rank_ == root ? x.to_vector<float>() : std::vector<float>(static_cast<std::size_t>(n));
  check(MPI_Bcast(values.data(), n, MPI_FLOAT, root, comm_of(handle_)), "MPI_Bcast");
  return Tensor::from_data(values.data(), shape);
}

Tensor Communicator::sum(const Tensor& x) const {
  if (!x.defined()) throw DistributedError("sum: the tensor is undefined on rank " + std::to_string(rank_));
  // The same shape and dtype everywhere, or every rank throws (one small all-reduce).
  std::uint64_t fingerprint = x.dtype() == DType::f64 ? 1 : 2;
  for (const std::int64_t d : x.shape().dims()) fingerprint = fingerprint * 1000003u + static_cast<std::uint64_t>(d);
  require_same(fingerprint, "sum: x is " + x.shape().to_string() + " " + tape::to_string(x.dtype()) + " on rank " +
                                std::to_string(rank_) + ", unlike on another rank");
  if (x.dtype() == DType::f64) {
    std::vector<double> values = x.to_vector<double>();
    sum_in_place(values.data(), x.numel());
    return Tensor::from_data(values.data(), x.shape());
  }
  std::vector<float> values = x.to_vector<float>();
  sum_in_place(values.data(), x.numel());
  return Tensor::from_data(values.data(), x.shape());
}

std::vector<double> Communicator::sum(std::vector<double> values) const {
  sum_in_place(values.data(), static_cast<std::int64_t>(values.size()));
  return values;
}

void Communicator::sum_in_place(float* values, std::int64_t n) const {
  check(MPI_Allreduce(MPI_IN_PLACE, values, count_of(n, "sum"), MPI_FLOAT, MPI_SUM, comm_of(handle_)), "MPI_Allreduce");
}

void Communicator::sum_in_place(double* values, std::int64_t n) const {
  check(MPI_Allreduce(MPI_IN_PLACE, values, count_of(n, "sum"), MPI_DOUBLE, MPI_SUM, comm_of(handle_)), "MPI_Allreduce");
}

double Communicator::max(double value) const {
  check(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_MAX, comm_of(handle_)), "MPI_Allreduce");
  return value;
}

void Communicator::require_same(std::uint64_t fingerprint, const std::string& what) const {
  // splitmix64's finalizer spreads every input bit over the 52 kept (exact in a double)
  std::uint64_t z = fingerprint + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  const auto value = static_cast<double>((z ^ (z >> 31)) >> 12);
  double extremes[2] = {value, -value};
  check(MPI_Allreduce(MPI_IN_PLACE, extremes, 2, MPI_DOUBLE, MPI_MAX, comm_of(handle_)), "MPI_Allreduce");
  if (extremes[0] != -extremes[1]) throw DistributedError(what);
}

}  // namespace tape::distributed
