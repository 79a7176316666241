// Consumer check: d(x*x)/dx at x = 3 must be 6. Exit 0 only if it is.
#include <cmath>
#include <cstdio>

#include <tape/tape.h>

int main() {
  tape::Tensor x = tape::Tensor::scalar(3.0f);
  tape::GradientTape tape;
  tape.watch(x);
  tape::Tensor y = x * x;
  tape::Tensor dy_dx = tape.gradient(y, x);
  const double g = dy_dx.item();
  std::printf("d(x*x)/dx at 3 = %g\n", g);
  return std::fabs(g - 6.0) < 1e-6 ? 0 : 1;
}
