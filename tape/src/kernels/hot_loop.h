// Internal: run-time dispatch for the plain-C++ hot loops of a portable build (TAPE_NATIVE=OFF).
// GCC compiles a function marked TAPE_HOT_LOOP three times (AVX-512F, AVX2, the baseline) and the
// loader picks the widest the CPU's feature flags allow (an ifunc; "arch=" clones would go by the
// CPU model and miss processors GCC does not know); a native build compiles it once, for the
// build machine. No FMA in the clones: the loops give the same bits on every path.
#pragma once

#if defined(TAPE_PORTABLE_DISPATCH) && defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define TAPE_HOT_LOOP __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TAPE_HOT_LOOP
#endif
