// float32 convolutions through oneDNN's convolution primitives (direct and "brgconv" JIT kernels
// that skip the zero padding), NHWC activations and HWIO weights as tape stores them; the weights
// are reordered into oneDNN's blocked layout per call. Primitives are cached per shape, kind and
// thread count; each call brings its own scratchpad, so concurrent calls are safe.
#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <unordered_map>

#include <omp.h>

#include "buffer_pool.h"
#include "kernels/kernels.h"
#include "tape/error.h"

#ifdef TAPE_HAVE_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace tape::kernels {

namespace {

bool unit_stride(const ConvShape& s) { return s.sh == 1 && s.sw == 1; }

}  // namespace

ConvPath conv_path_from_environment() {
  static const ConvPath path = [] {
    const char* value = std::getenv("TAPE_CONV_PATH");
    const std::string v = value == nullptr ? "auto" : value;
    if (v == "auto" || v.empty()) return ConvPath::automatic;
    if (v == "gemm") return ConvPath::gemm;
    if (v == "onednn") return ConvPath::onednn;
    if (v == "direct") return ConvPath::direct;
    throw ValueError("TAPE_CONV_PATH: expected auto, gemm, onednn or direct, got '" + v + "'");
  }();
  return path;
}

// Measured on an AMD Zen 5 (AVX-512, and capped to AVX2) at the DCGANs' layers, 1 and 2 threads,
// against the im2col + GEMM kernels (docs/performance.md, "oneDNN's convolutions"): oneDNN's
// forward is as fast or faster wherever the output is at least 4x4 (1.0-2.3x; the 1-channel
// layers most); its transposed convolution (backward data, or the flipped forward at stride 1)
// wins with 16+ channels out and loses 6-12x into 1 channel; its weight gradient wins on 1-4
// input channels (2-3.5x) and on stride-1 layers (1.3-1.4x), and loses up to 30% on the strided
// layers with more channels.
bool conv_uses_onednn(const ConvShape& s, ConvKind kind) {
  const bool spatial = s.ho * s.wo >= 16;
  switch (kind) {
    case ConvKind::forward: return spatial;
    case ConvKind::transpose: return spatial && s.h * s.w >= 16 && s.ci >= 16;
    case ConvKind::weight: return s.ci <= 4 || (spatial && unit_stride(s));
  }
  return false;
}

#ifdef TAPE_HAVE_DNNL
namespace {

// The bottom and right padding the sizes imply: negative when the last input rows or columns are
// read by no output.
std::pair<std::int64_t, std::int64_t> far_padding(const ConvShape& s) {
  return {(s.ho - 1) * s.sh + s.kh - s.h - s.pt, (s.wo - 1) * s.sw + s.kw - s.w - s.pl};
}

// With stride 1 the transposed convolution of u[N, Ho, Wo, Co] is the forward convolution of u
// with the kernel flipped and its channels swapped, w'[kh-1-i, kw-1-j, o, c] = w[i, j, c, o], and
// the padding k - 1 - p, into x[N, H, W, Ci]: oneDNN's forward kernels run it 1.3x faster than its
// backward-data ones (1.0-1.1x on two threads).
ConvShape flipped(const ConvShape& s) {
  return {s.n, s.ho, s.wo, s.co, s.kh, s.kw, s.ci, s.h, s.w, 1, 1, s.kh - 1 - s.pt, s.kw - 1 - s.pl};
}

using Tag = dnnl::memory::format_tag;
using Dims = dnnl::memory::dims;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// One cached convolution: the primitive, and the reorder between tape's HWIO weights and the
// layout the primitive chose (none when they agree).
struct ConvPrimitive {
  dnnl::primitive conv;
  dnnl::memory::desc data_md[2];  // x [N, H, W, Ci] and y / u [N, Ho, Wo, Co], NHWC
  dnnl::memory::desc weights_md, user_weights_md;
  std::unique_ptr<dnnl::reorder> reorder;  // HWIO -> weights_md (forward, transpose) or back (weight)
  std::size_t scratchpad_bytes = 0, reorder_scratchpad_bytes = 0;
};

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// The descriptors of conv(x[N, H, W, Ci], w[kh, kw, Ci, Co]) -> y[N, Ho, Wo, Co]. The bottom /
// right padding is what the sizes imply, negative when the last input rows are read by no output
// (oneDNN takes down to 1 - stride); false beyond that.
struct ConvDescs {
  dnnl::memory::desc x, w_any, w_user, y;
  Dims strides, pad_l, pad_r;
};
bool conv_descs(const ConvShape& s, ConvDescs& d) {
  const auto [pb, pr] = far_padding(s);
  if (pb <= -s.sh || pr <= -s.sw || s.pt < 0 || s.pl < 0) return false;
  const auto f32 = dnnl::memory::data_type::f32;
  d.x = dnnl::memory::desc({s.n, s.ci, s.h, s.w}, f32, Tag::nhwc);
  d.y = dnnl::memory::desc({s.n, s.co, s.ho, s.wo}, f32, Tag::nhwc);
  d.w_any = dnnl::memory::desc({s.co, s.ci, s.kh, s.kw}, f32, Tag::any);
  d.w_user = dnnl::memory::desc({s.co, s.ci, s.kh, s.kw}, f32, Tag::hwio);
  d.strides = {s.sh, s.sw};
  d.pad_l = {s.pt, s.pl};
  d.pad_r = {pb, pr};
  return true;
}

// Builds the primitive of one kind; null when oneDNN has no implementation for the shape. A
// forward one that `accumulates` adds its output to what the destination holds (a sum post-op).
std::shared_ptr<ConvPrimitive> build(const ConvShape& s, ConvKind kind, bool accumulates) {
  ConvDescs d;
  if (!conv_descs(s, d)) return nullptr;
  const auto direct = dnnl::algorithm::convolution_direct;
  const dnnl::primitive_attr attr = user_scratchpad();
  dnnl::engine& engine = cpu_engine();
  auto p = std::make_shared<ConvPrimitive>();
  p->data_md[0] = d.x;
  p->data_md[1] = d.y;
  p->user_weights_md = d.w_user;
  dnnl::primitive_attr forward_attr = user_scratchpad();  // the reorder and the backward kinds keep attr
  if (accumulates) {
    dnnl::post_ops sum;
    sum.append_sum(1.0f);
    forward_attr.set_post_ops(sum);
  }
  const dnnl::convolution_forward::primitive_desc hint(
      {dnnl::prop_kind::forward_training, direct, d.x, d.w_any, d.y, d.strides, d.pad_l, d.pad_r}, forward_attr, engine);
  if (kind == ConvKind::forward) {
    p->conv = dnnl::convolution_forward(hint);
    p->weights_md = hint.weights_desc();
    p->scratchpad_bytes = hint.scratchpad_desc().get_size();
  } else if (kind == ConvKind::transpose) {
    const dnnl::convolution_backward_data::primitive_desc pd({direct, d.x, d.w_any, d.y, d.strides, d.pad_l, d.pad_r},
                                                              attr, engine, hint);
    p->conv = dnnl::convolution_backward_data(pd);
    p->weights_md = pd.weights_desc();
    p->scratchpad_bytes = pd.scratchpad_desc().get_size();
  } else {
    const dnnl::convolution_backward_weights::primitive_desc pd(
        {direct, d.x, d.w_any, d.y, d.strides, d.pad_l, d.pad_r}, attr, engine, hint);
    // oneDNN 2.6.3's 1x1 weight-gradient kernel for AVX2 ("jit_1x1:avx2") on two threads returned
    // a wrong gradient in about 1% of calls (a 1x1 stride-2 layer, 2,000 calls against a
    // reference loop; none in a single thread, none from its AVX-512 sibling): every "jit_1x1"
    // weight gradient takes the GEMM path.
    if (std::string(pd.impl_info_str()).find("jit_1x1") != std::string::npos) return nullptr;
    p->conv = dnnl::convolution_backward_weights(pd);
    p->weights_md = pd.diff_weights_desc();
    p->scratchpad_bytes = pd.scratchpad_desc().get_size();
  }
  if (p->weights_md != d.w_user) {
    const bool to_user = kind == ConvKind::weight;
    const dnnl::reorder::primitive_desc rpd(engine, to_user ? p->weights_md : d.w_user, engine,
                                            to_user ? d.w_user : p->weights_md, attr);
    p->reorder = std::make_unique<dnnl::reorder>(rpd);
    p->reorder_scratchpad_bytes = rpd.scratchpad_desc().get_size();
  }
  return p;
}

using Key = std::tuple<int, bool, int, std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t,
                       std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t,
                       std::int64_t, std::int64_t>;

std::string kind_name(ConvKind kind) {
  return kind == ConvKind::forward ? "conv2d" : kind == ConvKind::transpose ? "conv_transpose2d" : "conv2d_weight_grad";
}

// "conv2d_weight_grad: oneDNN's convolution failed (<why>) for x [N, H, W, Ci], w [kh, kw, Ci,
// Co], stride (sh, sw), padding (pt, pl), y [N, Ho, Wo, Co]"
InternalError conv_failure(ConvKind kind, const ConvShape& s, const dnnl::error& e) {
  const auto dims = [](std::initializer_list<std::int64_t> v) {
    std::string text;
    for (const std::int64_t d : v) text += (text.empty() ? "" : ", ") + std::to_string(d);
    return text;
  };
  return InternalError(kind_name(kind) + ": oneDNN's convolution failed (" + e.what() + ", status " +
                       std::to_string(static_cast<int>(e.status)) + ") for x [" + dims({s.n, s.h, s.w, s.ci}) +
                       "], w [" + dims({s.kh, s.kw, s.ci, s.co}) + "], stride (" + dims({s.sh, s.sw}) +
                       "), padding (" + dims({s.pt, s.pl}) + "), y [" + dims({s.n, s.ho, s.wo, s.co}) + "]");
}

// The cached primitive for (shape, kind, accumulates, threads); null when oneDNN has no
// implementation for it (the GEMM path then runs it); any other oneDNN failure throws dnnl::error.
// A program sees a handful of shapes; past 256 the cache starts over rather than grow without
// bound (a caller still running a dropped primitive holds its own reference).
std::shared_ptr<const ConvPrimitive> primitive_for(const ConvShape& s, ConvKind kind, bool accumulates, int threads) {
  static std::mutex mutex;
  static std::map<Key, std::shared_ptr<ConvPrimitive>> cache;
  const Key key{static_cast<int>(kind), accumulates, threads, s.n, s.h, s.w, s.ci, s.kh, s.kw, s.co, s.ho, s.wo,
                s.sh, s.sw, s.pt, s.pl};
  const std::lock_guard<std::mutex> lock(mutex);
  const auto found = cache.find(key);
  if (found != cache.end()) return found->second;
  if (cache.size() >= 256) cache.clear();
  std::shared_ptr<ConvPrimitive> built;
  try {
    built = build(s, kind, accumulates);
  } catch (const dnnl::error& e) {
    if (e.status != dnnl_unimplemented) throw;  // onednn_conv names the op and its shapes
  }
  return cache.emplace(key, std::move(built)).first->second;
}

dnnl::memory wrap(const dnnl::memory::desc& md, const void* data) {
  return dnnl::memory(md, cpu_engine(), const_cast<void*>(data));
}

void run(const dnnl::primitive& primitive, std::unordered_map<int, dnnl::memory> args, std::size_t scratchpad_bytes) {
  const detail::ScratchBuffer<char> scratchpad(std::max<std::size_t>(scratchpad_bytes, 1));
  args.emplace(DNNL_ARG_SCRATCHPAD, wrap(dnnl::memory::desc({static_cast<std::int64_t>(scratchpad_bytes)},
                                                            dnnl::memory::data_type::u8, Tag::x),
                                         scratchpad.data()));
  thread_local dnnl::stream stream(cpu_engine());  // one per thread, not one per call
  primitive.execute(stream, args);
  stream.wait();
}

// Runs the cached primitive of `kind` for s (a, b, out as onednn_conv takes them; a forward one
// that `accumulates` adds to out); false when oneDNN has none. Throws dnnl::error.
bool run_cached(ConvKind kind, const ConvShape& s, const float* a, const float* b, float* out, bool accumulates = false) {
  const std::shared_ptr<const ConvPrimitive> p = primitive_for(s, kind, accumulates, omp_get_max_threads());
  if (p == nullptr) return false;
  // Weights in the primitive's layout: reordered from w before (forward, transpose) or into w
  // after the weight gradient.
  const detail::ScratchBuffer<char> blocked(p->reorder ? p->weights_md.get_size() : 1);
  const float* w_user = kind == ConvKind::weight ? out : b;
  void* w_conv = p->reorder ? static_cast<void*>(blocked.data()) : const_cast<float*>(w_user);
  if (p->reorder && kind != ConvKind::weight) {
    run(*p->reorder, {{DNNL_ARG_FROM, wrap(p->user_weights_md, w_user)}, {DNNL_ARG_TO, wrap(p->weights_md, w_conv)}},
        p->reorder_scratchpad_bytes);
  }
  const dnnl::memory x = wrap(p->data_md[0], kind == ConvKind::transpose ? static_cast<const void*>(out) : a);
  const dnnl::memory w = wrap(p->weights_md, w_conv);
  if (kind == ConvKind::forward) {
    run(p->conv, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, wrap(p->data_md[1], out)}},
        p->scratchpad_bytes);
  } else if (kind == ConvKind::transpose) {
    run(p->conv, {{DNNL_ARG_DIFF_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_DST, wrap(p->data_md[1], a)}},
        p->scratchpad_bytes);
  } else {
    run(p->conv, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_WEIGHTS, w}, {DNNL_ARG_DIFF_DST, wrap(p->data_md[1], b)}},
        p->scratchpad_bytes);
    if (p->reorder) {
      run(*p->reorder, {{DNNL_ARG_FROM, w}, {DNNL_ARG_TO, wrap(p->user_weights_md, out)}}, p->reorder_scratchpad_bytes);
    }
  }
  return true;
}

// oneDNN's forward kernels run 1.6x slower per multiply-add with 256 input channels than with
// 128 or fewer (measured on a Zen 5 at 7x7 5x5 layers, 1 and 2 threads: each block of output
// channels then holds more weights than a core's L2); wider inputs go in groups of at most this
// many channels, each group's output added to the previous ones'.
constexpr std::int64_t kForwardChannelGroup = 128;

// y[N, Ho, Wo, Co] = conv2d(x[N, H, W, Ci], w[kh, kw, Ci, Co]) as the sum over groups of input
// channels of each group's convolution (x's and w's channels of the group copied out first);
// false when oneDNN has no primitive for a group.
bool run_forward_in_groups(const ConvShape& s, const float* x, const float* w, float* y, std::int64_t groups) {
  ConvShape part = s;
  part.ci = s.ci / groups;
  const std::int64_t pixels = s.n * s.h * s.w, taps = s.kh * s.kw;
  const detail::ScratchBuffer<float> x_part(static_cast<std::size_t>(pixels * part.ci));
  const detail::ScratchBuffer<float> w_part(static_cast<std::size_t>(taps * part.ci * s.co));
  for (std::int64_t g = 0; g < groups; ++g) {
    const std::int64_t first = g * part.ci;
    for_rows(pixels, part.ci, [&](std::int64_t r) {
      std::copy_n(x + r * s.ci + first, part.ci, x_part.data() + r * part.ci);
    });
    for (std::int64_t t = 0; t < taps; ++t) {
      std::copy_n(w + (t * s.ci + first) * s.co, part.ci * s.co, w_part.data() + t * part.ci * s.co);
    }
    if (!run_cached(ConvKind::forward, part, x_part.data(), w_part.data(), y, g > 0)) return false;
  }
  return true;
}

// The forward convolution: in groups of input channels when there are more than
// kForwardChannelGroup and they split evenly.
bool run_forward(const ConvShape& s, const float* x, const float* w, float* y) {
  const std::int64_t groups = (s.ci + kForwardChannelGroup - 1) / kForwardChannelGroup;
  if (groups > 1 && s.ci % groups == 0) return run_forward_in_groups(s, x, w, y, groups);
  return run_cached(ConvKind::forward, s, x, w, y);
}

// The stride-1 transposed convolution as the forward one of u with w flipped (see flipped());
// false when oneDNN cannot run that forward convolution.
bool run_flipped(const ConvShape& s, const float* u, const float* w, float* x) {
  // w'[kh, kw, Co, Ci] from w[kh, kw, Ci, Co]: taps reversed, each [Ci, Co] block transposed
  const std::int64_t taps = s.kh * s.kw;
  const detail::ScratchBuffer<float> w_flipped(static_cast<std::size_t>(taps * s.ci * s.co));
  transpose_tap_blocks(w, w_flipped.data(), taps, s.ci, s.co, true);
  return run_forward(flipped(s), u, w_flipped.data(), x);
}

// Whether the flipped forward convolution has non-negative padding on every side.
bool flippable(const ConvShape& s) {
  const auto [pb, pr] = far_padding(s);
  return unit_stride(s) && s.pt < s.kh && s.pl < s.kw && pb < s.kh && pr < s.kw;
}

}  // namespace

bool onednn_conv(ConvKind kind, const ConvShape& s, const float* a, const float* b, float* out) {
  // oneDNN sizes a primitive's work for the thread count it was built with and runs single-
  // threaded inside a parallel region, where a fixed partition would be wrong: not from there.
  if (omp_in_parallel()) return false;
  try {
    if (kind == ConvKind::transpose && flippable(s) && run_flipped(s, a, b, out)) return true;
    if (kind == ConvKind::forward) return run_forward(s, a, b, out);
    return run_cached(kind, s, a, b, out);
  } catch (const dnnl::error& e) {
    throw conv_failure(kind, s, e);
  }
}

bool have_onednn_conv() { return true; }

#else

bool onednn_conv(ConvKind, const ConvShape&, const float*, const float*, float*) { return false; }
bool have_onednn_conv() { return false; }

#endif

}  // namespace tape::kernels
