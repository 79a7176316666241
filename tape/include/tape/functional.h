// Derivatives of functions (torch.autograd.functional's shape, built on GradientTape):
// forward-mode products J v (jvp) and Hessian-vector products (hvp). Both come from the tape's
// differentiable gradients — jvp by the double-backward trick (J v = d/du <J^T u, v>), hvp as the
// gradient of <grad f, v> — so they need the ops of f to be twice differentiable (every op in the
// op table of order 2), and cost about two to three reverse sweeps.
#pragma once
#include <functional>
#include <vector>

#include "tape/tensor.h"

namespace tape {

// f(inputs) -> one output tensor.
using DifferentiableFunction = std::function<Tensor(const std::vector<Tensor>& inputs)>;

struct JvpResult {
  Tensor value;    // f(primals)
  Tensor tangent;  // J v = sum over inputs of (d f / d input_k) tangents_k, f's shape
};
// J v of f at `primals` along `tangents` (one per primal, same shapes and dtypes). Inputs f does
// not depend on contribute nothing; a tangent of zeros where f depends on nothing. Throws
// ShapeError/DTypeError naming the input on a mismatch. (torch.autograd.functional.jvp)
JvpResult jvp(const DifferentiableFunction& f, const std::vector<Tensor>& primals, const std::vector<Tensor>& tangents);

struct HvpResult {
  Tensor value;                 // f(primals), a scalar (or the sum of f's output)
  std::vector<Tensor> product;  // H v, one per primal (zeros where unconnected)
};
// H v of the scalar f (a non-scalar output is summed) at `primals` along `vectors`, H the Hessian
// over all primals together: product_k = sum_j (d^2 f / d x_k d x_j) v_j. (torch's hvp)
HvpResult hvp(const DifferentiableFunction& f, const std::vector<Tensor>& primals, const std::vector<Tensor>& vectors);

}  // namespace tape
