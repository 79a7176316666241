// The MPI environment and a communicator over it: rank, size, and the collective operations
// data-parallel training needs (broadcast, sums, a barrier), on tape's Tensors. No MPI type
// appears here: programs include this header without mpi.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tape/tape.h"

namespace tape::distributed {

// An MPI call failed (the message names the call and MPI's own error text), or the ranks disagree
// about a collective's arguments (shapes, dtypes, counts).
class DistributedError : public Error {
 public:
  using Error::Error;
};

// Whether an MPI launcher (mpirun/mpiexec of Open MPI or MPICH, srun) started this process, from
// the environment it sets; such a process should create an Environment.
bool launched_by_mpi();

// MPI for the life of this object: MPI_Init_thread at construction (the constructing thread alone
// makes MPI calls, MPI_THREAD_FUNNELED; tape's OpenMP threads compute between them), errors
// returned to tape as DistributedError instead of aborting, MPI_Finalize at destruction. One per
// process, for the whole program: MPI cannot start again once finalized.
class Environment {
 public:
  Environment();
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
  // Whether an Environment (this or an earlier one) initialized MPI and it is not finalized yet.
  static bool active();
};

// A group of processes. Every member function is collective: every rank calls it, in the same
// order, with arguments of the same shape, unless it says otherwise.
class Communicator {
 public:
  // Every process of the run (MPI_COMM_WORLD); needs an active Environment.
  static Communicator world();

  int rank() const { return rank_; }  // local, not collective
  int size() const { return size_; }  // local, not collective
  bool is_root() const { return rank_ == 0; }
  // This rank's share of a global batch split along axis 0 (local).
  BatchShard batch_shard() const { return {rank_, size_}; }

  void barrier() const;
  // root's x on every rank: the result has root's shape and dtype whatever the others pass (their
  // x may be undefined).
  Tensor broadcast(const Tensor& x, int root = 0) const;
  std::string broadcast(const std::string& text, int root = 0) const;
  std::int64_t broadcast(std::int64_t value, int root = 0) const;
  // The element-wise sum over ranks, on every rank (not differentiable: all_reduce_sum in
  // data_parallel.h is). x must have the same shape and dtype on every rank.
  Tensor sum(const Tensor& x) const;
  std::vector<double> sum(std::vector<double> values) const;
  // In place over n contiguous values (the gradient buckets).
  void sum_in_place(float* values, std::int64_t n) const;
  void sum_in_place(double* values, std::int64_t n) const;
  double max(double value) const;
  // Throws DistributedError(what) on every rank unless `fingerprint` (a hash of shapes, say) is
  // the same on all; one all-reduce of 52 mixed bits of it.
  void require_same(std::uint64_t fingerprint, const std::string& what) const;
  // Asks MPI to end every process of the group (MPI_Abort with `code`; local): for a program
  // whose one process failed while the others may wait in a collective. The MPI runtime ends the
  // processes; should it return, the caller exits with its own error. The library never calls it.
  void abort(int code) const;

 private:
  Communicator(int handle, int rank, int size) : handle_(handle), rank_(rank), size_(size) {}
  int handle_;  // the communicator as MPI's integer (Fortran) handle
  int rank_, size_;
};

}  // namespace tape::distributed
