// FMA-loop probe: the machine's float32 fused-multiply-add ceiling, per thread count, measured in
// the same run as the other benchmarks (GFLOP/s = 2 x FMAs / s).
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <omp.h>

namespace {

// 16 independent accumulators of 16 floats: enough in-flight FMAs to saturate two FMA pipes.
// Explicit fused multiply-adds (an ISO C++ build does not contract a * b + c into one).
using Vec = float __attribute__((vector_size(64)));
constexpr int kChains = 16;
constexpr long kSteps = 1 << 20;

inline Vec fma(Vec a, Vec b, Vec c) {
#if defined(__AVX512F__)
  return reinterpret_cast<Vec>(_mm512_fmadd_ps(reinterpret_cast<__m512>(a), reinterpret_cast<__m512>(b),
                                               reinterpret_cast<__m512>(c)));
#else
  Vec r;
  for (int l = 0; l < 16; ++l) r[l] = __builtin_fmaf(a[l], b[l], c[l]);
  return r;
#endif
}

float fma_loop(long steps) {
  Vec acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = Vec{} + 1.0f + 0.001f * float(c);
  const Vec a = Vec{} + 0.999999f, b = Vec{} + 1e-7f;
  for (long i = 0; i < steps; ++i) {
    for (int c = 0; c < kChains; ++c) acc[c] = fma(acc[c], a, b);
  }
  float s = 0.0f;
  for (int c = 0; c < kChains; ++c) {
    for (int l = 0; l < 16; ++l) s += acc[c][l];
  }
  return s;
}

void fma_ceiling(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    float total = 0.0f;
#pragma omp parallel for num_threads(threads) reduction(+ : total)
    for (int t = 0; t < threads; ++t) total += fma_loop(kSteps);
    benchmark::DoNotOptimize(total);
  }
  const double flops = 2.0 * 16.0 * kChains * double(kSteps) * threads;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9 * double(state.iterations()), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(fma_ceiling)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
