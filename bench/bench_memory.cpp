// The memory-bound parts of a training step against the machine's memory bandwidth: a STREAM-like
// probe (copy, scale, add, triad over arrays far larger than the caches) and tape's BatchNorm,
// LeakyReLU, Dropout and Adam on tensors of the same size, through the public API. Each kernel
// reports GB/s over the fewest bytes it must move (its inputs read once, its outputs written
// once) and x_stream: its time over the time STREAM's triad bandwidth needs for those bytes
// (1.0: as fast as memory allows; the project's target is 1.5 at most).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <vector>

#include <tape/nn/nn.h>
#include <tape/tape.h>

using namespace tape;

namespace {

constexpr std::int64_t kElements = std::int64_t{1} << 24;  // 64 MiB of float32 per array

// ---------------------------------------------------------------- STREAM
struct StreamArrays {
  std::vector<float> a, b, c;
  StreamArrays() : a(kElements, 1.0f), b(kElements, 2.0f), c(kElements, 0.0f) {}
};

StreamArrays& arrays() {
  static StreamArrays s;
  return s;
}

// One pass of a STREAM kernel on `threads` threads; returns the bytes it moves (STREAM's count).
double stream_pass(int kernel, int threads) {
  StreamArrays& s = arrays();
  float *a = s.a.data(), *b = s.b.data(), *c = s.c.data();
  const float q = 3.0f;
  switch (kernel) {
    case 0:  // copy: c = a
#pragma omp parallel for num_threads(threads) schedule(static)
      for (std::int64_t i = 0; i < kElements; ++i) c[i] = a[i];
      return 8.0 * kElements;
    case 1:  // scale: b = q c
#pragma omp parallel for num_threads(threads) schedule(static)
      for (std::int64_t i = 0; i < kElements; ++i) b[i] = q * c[i];
      return 8.0 * kElements;
    case 2:  // add: c = a + b
#pragma omp parallel for num_threads(threads) schedule(static)
      for (std::int64_t i = 0; i < kElements; ++i) c[i] = a[i] + b[i];
      return 12.0 * kElements;
    default:  // triad: a = b + q c
#pragma omp parallel for num_threads(threads) schedule(static)
      for (std::int64_t i = 0; i < kElements; ++i) a[i] = b[i] + q * c[i];
      return 12.0 * kElements;
  }
}

const char* const kStreamNames[] = {"copy", "scale", "add", "triad"};

void stream(benchmark::State& state) {
  const int kernel = static_cast<int>(state.range(0)), threads = static_cast<int>(state.range(1));
  state.SetLabel(kStreamNames[kernel]);
  arrays();  // allocated and first touched outside the timing
  double bytes = 0;
  for (auto _ : state) bytes += stream_pass(kernel, threads);
  state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsRate);
}

// The triad's bandwidth on `threads` threads in bytes/s: the best of 10 passes, measured once.
double triad_bandwidth(int threads) {
  static std::map<int, double> cache;
  auto it = cache.find(threads);
  if (it != cache.end()) return it->second;
  double best = 0;
  stream_pass(3, threads);  // first touch
  for (int i = 0; i < 10; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const double bytes = stream_pass(3, threads);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, bytes / seconds);
  }
  return cache[threads] = best;
}

// ---------------------------------------------------------------- tape's memory-bound kernels
Tensor random(const Shape& s, std::uint64_t seed) {
  Generator gen(seed);
  return Tensor::uniform(s, gen, -1.0, 1.0);
}

// Counters for a kernel that must move `bytes_per_iteration` bytes at least.
void report(benchmark::State& state, double bytes_per_iteration, int threads) {
  const double bytes = bytes_per_iteration * double(state.iterations());
  state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsRate);
  state.counters["x_stream"] = benchmark::Counter(bytes_per_iteration / triad_bandwidth(threads),
                                                  benchmark::Counter::kIsIterationInvariantRate |
                                                      benchmark::Counter::kInvert);
}

// x [N, 7, 7, 256] (the tf-tutorial's widest BatchNorm) with N so that x is kElements floats.
Shape activation_shape() { return Shape{kElements / (7 * 7 * 256), 7, 7, 256}; }

// BatchNorm forward: reads x, writes y: 8 bytes per element.
void batch_norm_forward(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  set_num_threads(threads);
  const Tensor x = random(activation_shape(), 1), gamma = Tensor::ones({256}), beta = Tensor::zeros({256});
  NoRecord no_record;
  for (auto _ : state) benchmark::DoNotOptimize(batch_norm(x, gamma, beta, 1e-3).y);
  report(state, 8.0 * double(x.numel()), threads);
}

// BatchNorm forward and backward: 8 bytes forward, then reads the upstream gradient and x and
// writes dx: 20 bytes per element (gamma's and beta's gradients are [C]).
void batch_norm_forward_backward(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  set_num_threads(threads);
  const Tensor x = random(activation_shape(), 2), g = random(activation_shape(), 3);
  Variable gamma(Tensor::ones({256}), "gamma"), beta(Tensor::zeros({256}), "beta");
  Variable xv(x, "x");
  for (auto _ : state) {
    GradientTape tape;
    const Tensor y = batch_norm(xv.value(), gamma.value(), beta.value(), 1e-3).y;
    benchmark::DoNotOptimize(tape.gradient(y, std::vector<Variable>{xv, gamma, beta},
                                           {.output_gradients = {g}}));
  }
  report(state, 20.0 * double(x.numel()), threads);
}

// LeakyReLU forward: 8 bytes per element; forward and backward: 8 + 12 (reads g and x, writes dx).
void leaky_relu_forward(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  set_num_threads(threads);
  const Tensor x = random(activation_shape(), 4);
  NoRecord no_record;
  for (auto _ : state) benchmark::DoNotOptimize(leaky_relu(x));
  report(state, 8.0 * double(x.numel()), threads);
}

void leaky_relu_forward_backward(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  set_num_threads(threads);
  Variable x(random(activation_shape(), 5), "x");
  const Tensor g = random(activation_shape(), 6);
  for (auto _ : state) {
    GradientTape tape;
    const Tensor y = leaky_relu(x.value());
    benchmark::DoNotOptimize(tape.gradient(y, x, {.output_gradients = {g}}));
  }
  report(state, 20.0 * double(x.shape().numel()), threads);
}

// Dropout forward in training (a fresh mask each call): reads x, writes y: 8 bytes per element
// (the mask's random numbers are made, not read).
void dropout_forward(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  set_num_threads(threads);
  const Tensor x = random(activation_shape(), 7);
  Generator gen(8);
  NoRecord no_record;
  for (auto _ : state) benchmark::DoNotOptimize(dropout(x, 0.3, gen));
  report(state, 8.0 * double(x.numel()), threads);
}

// One Adam update of kElements parameters: reads the parameter, its gradient and both moments,
// writes the parameter and both moments: 28 bytes per parameter.
void adam_update(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  set_num_threads(threads);
  Variable p(random({kElements}, 9), "p");
  const Tensor g = random({kElements}, 10);
  nn::Adam adam({.learning_rate = 1e-4});
  adam.apply_gradients({g}, {p});  // creates the slots
  for (auto _ : state) adam.apply_gradients({g}, {p});
  report(state, 28.0 * double(kElements), threads);
}

void thread_counts(benchmark::internal::Benchmark* b) {
  for (int t : {1, 2}) b->Arg(t);
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK(stream)
    ->ArgsProduct({{0, 1, 2, 3}, {1, 2}})
    ->ArgNames({"kernel", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(batch_norm_forward)->Apply(thread_counts);
BENCHMARK(batch_norm_forward_backward)->Apply(thread_counts);
BENCHMARK(leaky_relu_forward)->Apply(thread_counts);
BENCHMARK(leaky_relu_forward_backward)->Apply(thread_counts);
BENCHMARK(dropout_forward)->Apply(thread_counts);
BENCHMARK(adam_update)->Apply(thread_counts);

BENCHMARK_MAIN();
