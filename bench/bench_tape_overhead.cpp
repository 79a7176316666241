// Tape overhead: recording and differentiating a chain of tiny ops (scalars), per op.
#include <benchmark/benchmark.h>

#include <tape/tape.h>

using namespace tape;

namespace {

// 1,000 ops: x -> x * c + c, 500 times; then gradient(). Reported per op (forward + backward).
void chain_of_tiny_ops(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Tensor x = Tensor::scalar(1.0f), c = Tensor::scalar(0.999f), d = Tensor::scalar(0.001f);
  for (auto _ : state) {
    GradientTape t;
    t.watch(x);
    Tensor y = x;
    for (int i = 0; i < n / 2; ++i) y = y * c + d;
    benchmark::DoNotOptimize(t.gradient(y, x));
  }
  // Ops recorded and differentiated per second (1e6/s is 1 us per op, forward and backward).
  state.counters["ops/s"] = benchmark::Counter(double(n), benchmark::Counter::kIsIterationInvariantRate);
}

// The same chain without a tape: what the ops themselves cost.
void chain_without_tape(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Tensor x = Tensor::scalar(1.0f), c = Tensor::scalar(0.999f), d = Tensor::scalar(0.001f);
  for (auto _ : state) {
    Tensor y = x;
    for (int i = 0; i < n / 2; ++i) y = y * c + d;
    benchmark::DoNotOptimize(y);
  }
}

}  // namespace

BENCHMARK(chain_of_tiny_ops)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(chain_without_tape)->Arg(1000)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
