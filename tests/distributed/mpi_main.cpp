// The Catch2 main of the MPI tests: MPI for the whole run (tape::distributed::Environment), then
// the test cases, in the same order on every rank (mpirun -np 2 runs this program twice).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <tape/distributed/communicator.h>

int main(int argc, char** argv) {
  tape::distributed::Environment mpi;
  const int failed = Catch::Session().run(argc, argv);
  // A rank whose test failed would leave the others waiting in a collective: end them all.
  const auto comm = tape::distributed::Communicator::world();
  if (comm.max(failed) > 0 && comm.size() > 1) comm.abort(1);
  return failed;
}
