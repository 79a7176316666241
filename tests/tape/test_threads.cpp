// Tapes are thread-local: two threads with their own tapes get independent, correct results.
#include <thread>

#include "support/test_support.h"

using namespace tape;

TEST_CASE("two threads with their own tapes get independent, correct results", "[threads]") {
  std::vector<double> results(2, 0.0);
  std::vector<std::string> errors(2);
  auto work = [&](int k) {
    try {
      const double x0 = k == 0 ? 3.0 : 5.0;
      double total = 0.0;
      for (int i = 0; i < 200; ++i) {
        Tensor x = Tensor::scalar(x0);
        GradientTape t;
        t.watch(x);
        Tensor y = x * x * x;                  // dy/dx = 3 x^2
        total += t.gradient(y, x).item();
      }
      results[k] = total / 200.0;
    } catch (const std::exception& e) {
      errors[k] = e.what();
    }
  };
  // A tape on the main thread must not see the threads' ops, nor they its.
  Tensor shared = Tensor::scalar(2.0);
  GradientTape main_tape({.persistent = true});
  main_tape.watch(shared);
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  REQUIRE(errors[0].empty());
  REQUIRE(errors[1].empty());
  REQUIRE(results[0] == 27.0);
  REQUIRE(results[1] == 75.0);
  Tensor from_thread;
  std::thread c([&] { from_thread = shared * shared; });  // no tape on that thread: not recorded
  c.join();
  REQUIRE_FALSE(main_tape.gradient(from_thread, shared).defined());
  Tensor z = shared * 4.0;
  REQUIRE(main_tape.gradient(z, shared).item() == 4.0);
}
