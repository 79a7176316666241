// dcgan's MPI glue: ProcessGroup from tape::distributed.
#include "process_group.h"

#include <memory>

#include <tape/distributed/data_parallel.h>

namespace dcgan {

namespace td = tape::distributed;

ProcessGroup make_process_group(const td::Communicator& comm, bool synchronize_batch_norm,
                                std::shared_ptr<double> allreduce_seconds) {
  auto averager = std::make_shared<td::GradientAverager>(comm);
  ProcessGroup g;
  g.rank = comm.rank();
  g.size = comm.size();
  g.prepare = [comm, synchronize_batch_norm](tape::nn::Module& model) { td::distribute(model, comm, synchronize_batch_norm); };
  g.average_gradients = [averager, allreduce_seconds](const std::vector<tape::Tensor>& grads) {
    std::vector<tape::Tensor> out = averager->average(grads);
    if (allreduce_seconds) *allreduce_seconds = averager->seconds();
    return out;
  };
  g.sum = [comm](const std::vector<double>& values) { return comm.sum(values); };
  g.broadcast_variables = [comm](const std::vector<tape::Variable>& vars) { td::broadcast_variables(comm, vars); };
  g.broadcast_optimizer = [comm](tape::nn::Optimizer& opt) { td::broadcast_optimizer_state(comm, opt); };
  g.broadcast_generators = [comm](const std::vector<tape::Generator*>& gens) { td::broadcast_generators(comm, gens); };
  return g;
}

}  // namespace dcgan
