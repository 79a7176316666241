// Hot ops forward and backward at the tf-tutorial DCGAN's shapes (batch 128) and the default
// mnist-fast DCGAN's (batch 64), with GFLOP/s counters for the convolution trio and GEMM.
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
  const char* name;
  std::int64_t batch, h, ci, co, k, stride, pad;  // square input h x h, NHWC; pad < 0: "same"
};

// The convolutions as the conv they compute or transpose (x: h x h x ci -> y: ho x ho x co).
// Cases 0-4: tf-tutorial at batch 128; 5-12: mnist-fast (the default preset) at batch 64.
const ConvCase kCases[] = {
    {"tf D conv1 28x28x1->14x14x64", 128, 28, 1, 64, 5, 2, -1},
    {"tf D conv2 14x14x64->7x7x128", 128, 14, 64, 128, 5, 2, -1},
    {"tf G convT1 7x7x256->7x7x128", 128, 7, 128, 256, 5, 1, -1},
    {"tf G convT2 7x7x128->14x14x64", 128, 14, 64, 128, 5, 2, -1},
    {"tf G convT3 14x14x64->28x28x1", 128, 28, 1, 64, 5, 2, -1},
    {"fast G convT1 1x1x100->4x4x256", 64, 4, 256, 100, 4, 1, 0},
    {"fast G convT2 4x4x256->7x7x128", 64, 7, 128, 256, 3, 2, 1},
    {"fast G convT3 7x7x128->14x14x64", 64, 14, 64, 128, 4, 2, 1},
    {"fast G convT4 14x14x64->28x28x1", 64, 28, 1, 64, 4, 2, 1},
    {"fast D conv1 28x28x1->14x14x32", 64, 28, 1, 32, 4, 2, 1},
    {"fast D conv2 14x14x32->7x7x64", 64, 14, 32, 64, 4, 2, 1},
    {"fast D conv3 7x7x64->3x3x128", 64, 7, 64, 128, 4, 2, 1},
    {"fast D conv4 3x3x128->1x1x1", 64, 3, 128, 1, 3, 1, 0},
};
constexpr int kCaseCount = static_cast<int>(sizeof(kCases) / sizeof(kCases[0]));

Padding padding(const ConvCase& c) { return c.pad < 0 ? Padding::same() : Padding::symmetric(c.pad, c.pad); }

std::int64_t out_size(const ConvCase& c) {
  return c.pad < 0 ? (c.h + c.stride - 1) / c.stride : (c.h + 2 * c.pad - c.k) / c.stride + 1;
}

double conv_flops(const ConvCase& c) {
  const std::int64_t ho = out_size(c);
  return 2.0 * double(c.batch * ho * ho * c.co * c.ci * c.k * c.k);
}

void conv2d_forward(benchmark::State& state) {
  const ConvCase c = kCases[state.range(0)];
  state.SetLabel(c.name);
  Tensor x = random({c.batch, c.h, c.h, c.ci}, 1), w = random({c.k, c.k, c.ci, c.co}, 2);
  for (auto _ : state) benchmark::DoNotOptimize(conv2d(x, w, {{c.stride, c.stride}, padding(c)}));
  set_flops(state, conv_flops(c));
}

void conv_transpose2d_forward(benchmark::State& state) {
  const ConvCase c = kCases[state.range(0)];
  state.SetLabel(c.name);
  const std::int64_t ho = out_size(c);
  Tensor u = random({c.batch, ho, ho, c.co}, 3), w = random({c.k, c.k, c.ci, c.co}, 4);
  const ConvTranspose2dOptions o{{c.stride, c.stride}, padding(c), std::array<std::int64_t, 2>{c.h, c.h}, {}};
  for (auto _ : state) benchmark::DoNotOptimize(conv_transpose2d(u, w, o));
  set_flops(state, conv_flops(c));
}

void conv2d_weight_grad_op(benchmark::State& state) {
  const ConvCase c = kCases[state.range(0)];
  state.SetLabel(c.name);
  const std::int64_t ho = out_size(c);
  Tensor x = random({c.batch, c.h, c.h, c.ci}, 5), u = random({c.batch, ho, ho, c.co}, 6);
  for (auto _ : state) {
    benchmark::DoNotOptimize(conv2d_weight_grad(x, u, {{c.stride, c.stride}, padding(c)}, {c.k, c.k}));
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

BENCHMARK(conv2d_forward)->DenseRange(0, kCaseCount - 1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(conv_transpose2d_forward)->DenseRange(0, kCaseCount - 1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(conv2d_weight_grad_op)->DenseRange(0, kCaseCount - 1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(matmul_op)->Args({128, 100, 12544})->Args({128, 6272, 1})->Args({1024, 1024, 1024})
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(batch_norm_train)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(leaky_relu_forward_backward)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
