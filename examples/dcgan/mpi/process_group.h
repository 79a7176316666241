// dcgan's MPI glue: the trainer's ProcessGroup made from a tape::distributed Communicator (built
// when tape::distributed is).
#pragma once

#include <tape/distributed/communicator.h>

#include "trainer.h"

namespace dcgan {

// A ProcessGroup over `comm`: gradients averaged in buckets (GradientAverager), models sharded
// with BatchNorm synchronized across the processes or not, broadcasts from rank 0. `seconds`, when
// given, receives the time spent in gradient all-reduces (for measurements).
ProcessGroup make_process_group(const tape::distributed::Communicator& comm, bool synchronize_batch_norm,
                                std::shared_ptr<double> allreduce_seconds = nullptr);

}  // namespace dcgan
