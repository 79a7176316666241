// FMA-loop probe: the machine's float32 fused-multiply-add ceiling, per thread count, measured in
// the same run as the other benchmarks (GFLOP/s = 2 x FMAs / s). The loop is compiled for AVX-512
// and for AVX2 + FMA (function target attributes) and picked at run time from what the processor
// has: fma_ceiling/<threads> runs the widest one (its label names the ISA), fma_ceiling_avx2/<threads>
// the AVX2 one on any processor that has it (the ceiling an AVX2 build of tape can reach).
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <omp.h>

#include <string>

namespace {

// kChains independent accumulators: enough in-flight FMAs to saturate two FMA pipes (latency 4,
// two per cycle: at least 8 chains; 16 for AVX-512's 32 registers, 12 for AVX2's 16).
constexpr long kSteps = 1 << 20;

struct Result {
  float sum;
  double flops;
};

__attribute__((target("avx512f"))) Result fma_loop_avx512(long steps) {
  constexpr int kChains = 16;
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(1.0f + 0.001f * float(c));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long i = 0; i < steps; ++i) {
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  }
  float s = 0.0f;
  for (int c = 0; c < kChains; ++c) s += _mm512_reduce_add_ps(acc[c]);
  return {s, 2.0 * 16 * kChains * double(steps)};
}

__attribute__((target("avx2,fma"))) Result fma_loop_avx2(long steps) {
  constexpr int kChains = 12;
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(1.0f + 0.001f * float(c));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long i = 0; i < steps; ++i) {
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  }
  alignas(32) float lanes[8];
  float s = 0.0f;
  for (int c = 0; c < kChains; ++c) {
    _mm256_store_ps(lanes, acc[c]);
    for (float v : lanes) s += v;
  }
  return {s, 2.0 * 8 * kChains * double(steps)};
}

bool has_avx512() { return __builtin_cpu_supports("avx512f"); }
bool has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

template <Result (*Loop)(long)>
void run_ceiling(benchmark::State& state, const char* isa) {
  const int threads = static_cast<int>(state.range(0));
  double flops = 0.0;
  for (auto _ : state) {
    float total = 0.0f;
    double f = 0.0;
#pragma omp parallel for num_threads(threads) reduction(+ : total, f)
    for (int t = 0; t < threads; ++t) {
      const Result r = Loop(kSteps);
      total += r.sum;
      f += r.flops;
    }
    benchmark::DoNotOptimize(total);
    flops += f;
  }
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);
  state.SetLabel(isa);
}

// The widest FMA this processor has.
void fma_ceiling(benchmark::State& state) {
  if (has_avx512()) {
    run_ceiling<fma_loop_avx512>(state, "avx512f");
  } else if (has_avx2()) {
    run_ceiling<fma_loop_avx2>(state, "avx2");
  } else {
    state.SkipWithError("no AVX2 + FMA on this processor");
  }
}

void fma_ceiling_avx2(benchmark::State& state) {
  if (!has_avx2()) {
    state.SkipWithError("no AVX2 + FMA on this processor");
    return;
  }
  run_ceiling<fma_loop_avx2>(state, "avx2");
}

}  // namespace

BENCHMARK(fma_ceiling)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(fma_ceiling_avx2)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
