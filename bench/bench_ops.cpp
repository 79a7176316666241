// Hot ops forward and backward at the tf-tutorial DCGAN's shapes (batch 128), with GFLOP/s
// counters for the convolution trio and GEMM.
#include <benchmark/benchmark.h>

#include <tape/tape.h>

using namespace tape;

namespace {

constexpr std::int64_t kBatch = 128;

Tensor random(const Shape& s, std::uint64_t seed) {
  Generator gen(seed);
  return Tensor::uniform(s, gen, -1.0, 1.0);
}

void set_flops(benchmark::State& state, double flops_per_iteration) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops_per_iteration * 1e-9 * double(state.iterations()),
                                                  benchmark::Counter::kIsRate);
}

struct ConvCase {
  std::int64_t h, ci, co, k, stride;  // square input h x h, NHWC
};

// The DCGAN's convolutions: D conv1/conv2, G convT1/convT2/convT3 (as the conv they transpose).
const ConvCase kCases[] = {
    {28, 1, 64, 5, 2},    // D conv1: 28x28x1 -> 14x14x64
    {14, 64, 128, 5, 2},  // D conv2: 14x14x64 -> 7x7x128
    {7, 128, 256, 5, 1},  // G convT1: 7x7x256 -> 7x7x128 (transpose of 7x7x128 -> 7x7x256)
    {14, 64, 128, 5, 2},  // G convT2: 7x7x128 -> 14x14x64
    {28, 1, 64, 5, 2},    // G convT3: 14x14x64 -> 28x28x1
};

double conv_flops(const ConvCase& c) {
  const std::int64_t ho = (c.h + c.stride - 1) / c.stride;
  return 2.0 * double(kBatch * ho * ho * c.co * c.ci * c.k * c.k);
}

void conv2d_forward(benchmark::State& state) {
  const ConvCase c = kCases[state.range(0)];
  Tensor x = random({kBatch, c.h, c.h, c.ci}, 1), w = random({c.k, c.k, c.ci, c.co}, 2);
  for (auto _ : state) benchmark::DoNotOptimize(conv2d(x, w, {{c.stride, c.stride}, Padding::same()}));
  set_flops(state, conv_flops(c));
}

void conv_transpose2d_forward(benchmark::State& state) {
  const ConvCase c = kCases[state.range(0)];
  const std::int64_t ho = (c.h + c.stride - 1) / c.stride;
  Tensor u = random({kBatch, ho, ho, c.co}, 3), w = random({c.k, c.k, c.ci, c.co}, 4);
  const ConvTranspose2dOptions o{{c.stride, c.stride}, Padding::same(), std::array<std::int64_t, 2>{c.h, c.h}, {}};
  for (auto _ : state) benchmark::DoNotOptimize(conv_transpose2d(u, w, o));
  set_flops(state, conv_flops(c));
}

void conv2d_weight_grad_op(benchmark::State& state) {
  const ConvCase c = kCases[state.range(0)];
  const std::int64_t ho = (c.h + c.stride - 1) / c.stride;
  Tensor x = random({kBatch, c.h, c.h, c.ci}, 5), u = random({kBatch, ho, ho, c.co}, 6);
  for (auto _ : state) {
    benchmark::DoNotOptimize(conv2d_weight_grad(x, u, {{c.stride, c.stride}, Padding::same()}, {c.k, c.k}));
  }
  set_flops(state, conv_flops(c));
}

void matmul_op(benchmark::State& state) {
  const std::int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  Tensor a = random({m, k}, 7), b = random({k, n}, 8);
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b));
  set_flops(state, 2.0 * double(m * k * n));
}

// BatchNorm's training-mode forward + backward on [128, 7, 7, 256]: the fused op (arg 0) and the
// same formula composed of a dozen tape ops (arg 1), as BatchNorm was first written.
void batch_norm_train(benchmark::State& state) {
  Tensor x = random({kBatch, 7, 7, 256}, 9), gamma = random({256}, 10), beta = random({256}, 11);
  const bool composed = state.range(0) == 1;
  for (auto _ : state) {
    GradientTape t;
    t.watch({x, gamma, beta});
    Tensor y;
    if (composed) {
      const Tensor centered = x - mean(x, {0, 1, 2});
      y = centered * rsqrt(mean(square(centered), {0, 1, 2}) + 1e-3) * gamma + beta;
    } else {
      y = batch_norm(x, gamma, beta, 1e-3).y;
    }
    benchmark::DoNotOptimize(t.gradient(sum(leaky_relu(y, 0.3)), {x, gamma, beta}));
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * x.numel() * 4);
}

void leaky_relu_forward_backward(benchmark::State& state) {
  Tensor x = random({kBatch, 14, 14, 64}, 12);
  for (auto _ : state) {
    GradientTape t;
    t.watch(x);
    benchmark::DoNotOptimize(t.gradient(sum(leaky_relu(x, 0.3)), x));
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * x.numel() * 4);
}

}  // namespace

BENCHMARK(conv2d_forward)->DenseRange(0, 4)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(conv_transpose2d_forward)->DenseRange(0, 4)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(conv2d_weight_grad_op)->DenseRange(0, 4)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(matmul_op)->Args({128, 100, 12544})->Args({128, 6272, 1})->Args({1024, 1024, 1024})
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(batch_norm_train)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(leaky_relu_forward_backward)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
