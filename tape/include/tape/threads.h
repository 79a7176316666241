// Thread control: how many threads tape's kernels (OpenMP loops and GEMMs) use.
#pragma once

namespace tape {

// Sets the number of threads for this process's kernels (>= 1). The same count gives
// bit-identical results run to run.
void set_num_threads(int n);
int num_threads();

}  // namespace tape
