// bench_distributed: the DCGAN training step on P processes (mpirun -np P) of T threads each, on
// random images (no data loading): milliseconds per step, the gradient all-reduces' share of it,
// and the bytes each process reduces per step. One JSON line from rank 0:
//   mpirun -np 2 bench_distributed --arch mnist-fast --batch 64 --threads 1 --steps 40
//   bench_distributed --arch mnist-fast --batch 64 --threads 2 --steps 40      (one process)
//   mpirun -np 2 bench_distributed --allreduce-floats 1000000 --steps 50        (the link alone)
// --batch is the global batch, split over the processes.
#include <tape/distributed/data_parallel.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "process_group.h"
#include "trainer.h"

namespace {

struct Options {
  std::string arch = "mnist-fast";
  std::int64_t batch = 64;
  int threads = 1, steps = 40, warmup = 5;
  bool sync_batch_norm = false;
  std::int64_t allreduce_floats = 0;  // > 0: time all-reduces of this many floats alone
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw tape::ValueError("bench_distributed: " + a + " needs a value");
      return argv[++i];
    };
    if (a == "--arch") o.arch = value();
    else if (a == "--batch") o.batch = std::stoll(value());
    else if (a == "--threads") o.threads = std::stoi(value());
    else if (a == "--steps") o.steps = std::stoi(value());
    else if (a == "--warmup") o.warmup = std::stoi(value());
    else if (a == "--sync-batch-norm") o.sync_batch_norm = true;
    else if (a == "--allreduce-floats") o.allreduce_floats = std::stoll(value());
    else throw tape::ValueError("bench_distributed: unknown option " + a);
  }
  return o;
}

}  // namespace

// The link alone: `steps` in-place all-reduces of n floats after `warmup` more; the time of one and
// the bus bandwidth 2 (P - 1) / P * bytes / time (what a ring all-reduce moves per process).
void time_allreduce(const tape::distributed::Communicator& comm, const Options& o) {
  std::vector<float> buffer(static_cast<std::size_t>(o.allreduce_floats), 1.0f);
  std::chrono::steady_clock::time_point t0;
  for (int i = 0; i < o.warmup + o.steps; ++i) {
    if (i == o.warmup) {
      comm.barrier();
      t0 = std::chrono::steady_clock::now();
    }
    comm.sum_in_place(buffer.data(), o.allreduce_floats);
  }
  const double seconds = comm.max(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()) / o.steps;
  const double bytes = 4.0 * static_cast<double>(o.allreduce_floats);
  if (comm.is_root()) {
    std::printf("{\"allreduce_bytes\": %.0f, \"processes\": %d, \"ms\": %.4f, \"bus_gb_per_s\": %.3f}\n", bytes, comm.size(),
                1e3 * seconds, 2.0 * (comm.size() - 1) / comm.size() * bytes / seconds / 1e9);
  }
}

int main(int argc, char** argv) {
  tape::distributed::Environment mpi;
  const auto comm = tape::distributed::Communicator::world();
  try {
    const Options o = parse(argc, argv);
    if (o.allreduce_floats > 0) {
      time_allreduce(comm, o);
      return 0;
    }
    tape::set_num_threads(o.threads);
    auto allreduce_seconds = std::make_shared<double>(0.0);
    const dcgan::ProcessGroup group = dcgan::make_process_group(comm, o.sync_batch_norm, allreduce_seconds);
    dcgan::Architecture arch = dcgan::make_architecture(o.arch, 100, 1);
    if (comm.size() > 1) {
      group.prepare(arch.generator);
      group.prepare(arch.discriminator);
    }
    tape::nn::Adam g_opt({.learning_rate = 2e-4, .beta1 = 0.5}), d_opt({.learning_rate = 2e-4, .beta1 = 0.5});
    tape::Generator noise(2), data(3);
    dcgan::StepOptions options;
    if (comm.size() > 1) options.parallel = {comm.batch_shard(), group.average_gradients};
    const std::int64_t rows = comm.batch_shard().rows(o.batch);
    const tape::Shape image{rows, arch.image_shape[0], arch.image_shape[1], arch.image_shape[2]};
    const tape::Tensor real = tape::Tensor::uniform(image, data, -1.0, 1.0);
    double start_allreduce = 0.0;
    std::chrono::steady_clock::time_point t0;
    for (int step = 0; step < o.warmup + o.steps; ++step) {
      if (step == o.warmup) {
        comm.barrier();
        start_allreduce = *allreduce_seconds;
        t0 = std::chrono::steady_clock::now();
      }
      (void)dcgan::train_step(arch, g_opt, d_opt, real, noise, options);
    }
    comm.barrier();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double reduce = comm.max(*allreduce_seconds - start_allreduce);
    std::int64_t params = 0;  // trainable: the values whose gradients are averaged
    for (const auto* model : {&arch.generator, &arch.discriminator}) {
      for (const tape::Variable& v : model->trainable_variables()) params += v.peek().numel();
    }
    if (comm.is_root()) {
      std::printf("{\"arch\": \"%s\", \"batch\": %lld, \"processes\": %d, \"threads\": %d, \"steps\": %d, "
                  "\"ms_per_step\": %.3f, \"allreduce_ms_per_step\": %.3f, \"allreduce_share\": %.4f, "
                  "\"trainable_parameters\": %lld, \"bytes_per_step\": %lld, \"sync_batch_norm\": %s}\n",
                  o.arch.c_str(), static_cast<long long>(o.batch), comm.size(), o.threads, o.steps,
                  1e3 * seconds / o.steps, 1e3 * reduce / o.steps, reduce / seconds, static_cast<long long>(params),
                  static_cast<long long>(comm.size() > 1 ? 4 * params : 0),
                  o.sync_batch_norm ? "true" : "false");
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_distributed (rank %d): %s\n", comm.rank(), e.what());
    if (comm.size() > 1) comm.abort(1);
    return 1;
  }
}
