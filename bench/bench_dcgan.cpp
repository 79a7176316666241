// The whole DCGAN training iteration (dcgan::train_step: one forward pass under two tapes, both
// Adam steps) for the tf-tutorial and keras-small networks, with images/s and GFLOP/s counters;
// and the default networks' step with anomaly mode off and on (its cost).
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <tape/tape.h>

#include "architectures.h"
#include "trainer.h"

namespace {

// Multiply-accumulates per image of one forward pass, from the layer shapes:
// Conv = Ho*Wo*Co*Ci*k*k, ConvT = Hin*Win*Ci*Co*k*k, Dense = in*out.
struct Macs {
  double g, g_first, d, d_first;
};
// G: dense 1,254,400 + convT 40,140,800 + 10,035,200 + 313,600; D: 313,600 + 10,035,200 + 6,272.
constexpr Macs kTfTutorial{51744000.0, 1254400.0, 10355072.0, 313600.0};
// G: dense 627,200 + convT 10,035,200 + 313,600; D as above.
constexpr Macs kKerasSmall{10976000.0, 627200.0, 10355072.0, 313600.0};

// FLOPs of our step per image: G forward g; D forward on real and fake 2d; D tape: weight
// gradients on real and fake 2d and input gradients of every layer but the first on both
// 2(d - d1) (conv1's weights sit behind conv2's input); G tape: D input gradients on fake d, G
// backward 2g - g1. (PyTorch's usual step adds a second D forward and D weight gradients on the
// fake batch, 2d: 3g - g1 + 9d - 2d1.)
double step_flops_per_image(const Macs& m) {
  return 2.0 * (3.0 * m.g - m.g_first + 7.0 * m.d - 2.0 * m.d_first);
}

// One training step per iteration; anomaly mode (tape::CheckNumerics) on when `check_numerics`.
void dcgan_iteration(benchmark::State& state, const char* arch_name, Macs macs, std::int64_t batch, int threads,
                     bool check_numerics = false) {
  tape::set_num_threads(threads);
  const tape::CheckNumerics anomaly_mode(check_numerics);
  dcgan::Architecture arch = dcgan::make_architecture(arch_name, 100, 1);
  tape::nn::Adam g_opt({.learning_rate = 2e-4, .beta1 = 0.5}), d_opt({.learning_rate = 2e-4, .beta1 = 0.5});
  tape::Generator gen(2);
  const tape::Tensor real = tape::Tensor::uniform({batch, 28, 28, 1}, gen, -1.0, 1.0);
  dcgan::train_step(arch, g_opt, d_opt, real, gen, {});  // warm-up: allocations, first-touch
  for (auto _ : state) benchmark::DoNotOptimize(dcgan::train_step(arch, g_opt, d_opt, real, gen, {}));
  state.counters["images/s"] = benchmark::Counter(double(batch) * double(state.iterations()), benchmark::Counter::kIsRate);
  if (macs.g > 0)
    state.counters["GFLOP/s"] = benchmark::Counter(step_flops_per_image(macs) * double(batch) * 1e-9 *
                                                       double(state.iterations()),
                                                   benchmark::Counter::kIsRate);
}

void tf_tutorial(benchmark::State& state) {
  dcgan_iteration(state, "tf-tutorial", kTfTutorial, state.range(0), static_cast<int>(state.range(1)));
}
void keras_small(benchmark::State& state) {
  dcgan_iteration(state, "keras-small", kKerasSmall, state.range(0), static_cast<int>(state.range(1)));
}
// The default preset's networks at batch 64 on 2 threads, anomaly mode off (0) or on (1).
void mnist_fast_check_numerics(benchmark::State& state) {
  dcgan_iteration(state, "mnist-fast", Macs{}, 64, 2, state.range(0) != 0);
}

}  // namespace

// Args: batch, threads.
BENCHMARK(tf_tutorial)->ArgsProduct({{64, 128, 256}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime()
    ->MinTime(2.0);
BENCHMARK(keras_small)->ArgsProduct({{64, 128, 256}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime()
    ->MinTime(2.0);

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

// `bench_dcgan --profile [batch] [threads] [arch,arch,...] [steps]`: the per-op time table of a
// few iterations (default 3) of each network (default tf-tutorial and keras-small) instead of the
// benchmarks.
std::vector<std::string> split_names(const std::string& list) {
  std::vector<std::string> names;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    if (comma > start) names.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return names;
}

int profile(std::int64_t batch, int threads, const std::vector<std::string>& names, int steps) {
  tape::set_num_threads(threads);
  for (const std::string& name : names) {
    dcgan::Architecture arch = dcgan::make_architecture(name, 100, 1);
    tape::nn::Adam g_opt({.learning_rate = 2e-4, .beta1 = 0.5}), d_opt({.learning_rate = 2e-4, .beta1 = 0.5});
    tape::Generator gen(2);
    const tape::Tensor real = tape::Tensor::uniform({batch, 28, 28, 1}, gen, -1.0, 1.0);
    dcgan::train_step(arch, g_opt, d_opt, real, gen, {});
    tape::reset_peak_in_use();
    tape::Profiler profiler;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) dcgan::train_step(arch, g_opt, d_opt, real, gen, {});
    const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    const tape::BufferPoolStats memory = tape::buffer_pool_stats();
    std::printf("%s, batch %lld, %d threads, %d iterations:\n%s", name.c_str(), static_cast<long long>(batch), threads,
                steps, profiler.report().c_str());
    // The ops' share of the wall clock: the rest is the tape's own work between ops.
    std::printf("wall clock %.2f ms, %.1f%% of it in the ops above\n", wall_ms,
                100.0 * profiler.total_seconds() * 1e3 / wall_ms);
    std::printf("tensor memory: peak in use %.1f MiB, cached now %.1f MiB; process peak RSS so far %.1f MiB\n\n",
                memory.peak_in_use_bytes / 1048576.0, memory.cached_bytes / 1048576.0, peak_rss_mib());
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "--profile") {
    return profile(argc >= 3 ? std::stoll(argv[2]) : 128, argc >= 4 ? std::stoi(argv[3]) : 2,
                   split_names(argc >= 5 ? argv[4] : "tf-tutorial,keras-small"), argc >= 6 ? std::stoi(argv[5]) : 3);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
BENCHMARK(mnist_fast_check_numerics)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);
