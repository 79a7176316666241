// Tensor basics: factories, dtypes, aliasing, element access, conversion, printing, and the
// seeded Generator's determinism and distributions.
#include <sstream>

#include "support/test_support.h"
#include "tensor_impl.h"

using namespace tape;

TEST_CASE("factories give the right shapes, dtypes and values", "[tensor]") {
  REQUIRE(Tensor::scalar(3.0f).dtype() == DType::f32);
  REQUIRE(Tensor::scalar(3.0).dtype() == DType::f64);
  REQUIRE(Tensor::scalar(3.0).rank() == 0);
  REQUIRE(Tensor::scalar(2.5, DType::f32).item() == 2.5);
  auto z = Tensor::zeros({2, 3});
  REQUIRE(z.shape() == Shape({2, 3}));
  REQUIRE(z.numel() == 6);
  REQUIRE(z.to_vector<float>() == std::vector<float>(6, 0.0f));
  REQUIRE(Tensor::ones({4}, DType::f64).to_vector<double>() == std::vector<double>(4, 1.0));
  REQUIRE(Tensor::full({2}, 7.0).to_vector<float>() == std::vector<float>{7.0f, 7.0f});
  REQUIRE(Tensor::arange(0, 5).to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4});
  REQUIRE(Tensor::arange(1, 2, 0.25, DType::f64).to_vector<double>() == std::vector<double>{1, 1.25, 1.5, 1.75});
  auto v = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  REQUIRE(v.at({1, 2}) == 6.0);
  REQUIRE(v.dim(-1) == 3);
  REQUIRE(Tensor::zeros_like(v).dtype() == DType::f64);
}

TEST_CASE("ranks 0 to 6 are supported", "[tensor]") {
  for (int r = 0; r <= 6; ++r) {
    std::vector<std::int64_t> dims(static_cast<std::size_t>(r), 2);
    Tensor t = Tensor::ones(Shape(dims), DType::f64);
    REQUIRE(t.rank() == r);
    REQUIRE(sum(t).item() == std::pow(2.0, r));
    if (r >= 2) {
      std::vector<std::int64_t> perm(static_cast<std::size_t>(r));
      for (int i = 0; i < r; ++i) perm[i] = r - 1 - i;
      REQUIRE(permute(t, perm).numel() == t.numel());
    }
  }
}

TEST_CASE("copies alias the same storage and identity", "[tensor]") {
  Tensor a = Tensor::ones({3});
  Tensor b = a;
  REQUIRE(a.id() == b.id());
  REQUIRE(a.raw_data() == b.raw_data());
  Tensor c = reshape(a, {3, 1});  // a view: same storage, new identity
  REQUIRE(c.raw_data() == a.raw_data());
  REQUIRE(c.id() != a.id());
}

TEST_CASE("dtype conversion is exact for representable values and differentiable", "[tensor]") {
  Tensor a = Tensor::from_vector(std::vector<float>{1.5f, -2.25f});
  Tensor b = a.to(DType::f64);
  REQUIRE(b.dtype() == DType::f64);
  REQUIRE(b.to_vector<double>() == std::vector<double>{1.5, -2.25});
  REQUIRE(a.to(DType::f32).id() == a.id());
  Tensor x = Tensor::scalar(2.0f);
  GradientTape t;
  t.watch(x);
  Tensor y = square(x.to(DType::f64));
  Tensor g = t.gradient(y, x);
  REQUIRE(g.dtype() == DType::f32);
  REQUIRE(g.item() == 4.0);
}

TEST_CASE("data<T>() checks the dtype and item() the size", "[tensor]") {
  Tensor a = Tensor::zeros({2});
  REQUIRE_THROWS_AS(a.data<double>(), DTypeError);
  REQUIRE_THROWS_AS(a.item(), ShapeError);
  REQUIRE_FALSE(Tensor().defined());
}

TEST_CASE("printing is readable and elides long axes", "[tensor]") {
  std::ostringstream os;
  os << Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  REQUIRE(os.str() == "Tensor(shape=[2, 3], dtype=float32, [[1, 2, 3], [4, 5, 6]])");
  REQUIRE(Tensor::scalar(0.5).to_string() == "Tensor(shape=[], dtype=float64, 0.5)");
  REQUIRE(Tensor::arange(0, 10).to_string() == "Tensor(shape=[10], dtype=float32, [0, 1, 2, ..., 7, 8, 9])");
  REQUIRE(Tensor().to_string() == "Tensor(undefined)");
}

TEST_CASE("the same seed gives the same numbers and the state round-trips", "[random]") {
  Generator a(42), b(42), c(43);
  for (int i = 0; i < 10; ++i) REQUIRE(a.next_u32() == b.next_u32());
  REQUIRE(a.next_u64() != c.next_u64());
  Generator d(7);
  d.next_u32();
  const auto state = d.state();
  const double x1 = d.normal(), x2 = d.uniform();
  d.set_state(state);
  REQUIRE(d.normal() == x1);
  REQUIRE(d.uniform() == x2);
  Generator e(5), f(5);
  REQUIRE(Tensor::normal({100}, e).to_vector<float>() == Tensor::normal({100}, f).to_vector<float>());
}

TEST_CASE("Philox4x32-10 matches the Random123 known-answer vector", "[random]") {
  // Random123 kat_vectors: philox4x32_10 with counter 0 and key 0.
  auto block = Generator::philox_block(0, 0);
  REQUIRE(block[0] == 0x6627e8d5u);
  REQUIRE(block[1] == 0xe169c58du);
  REQUIRE(block[2] == 0xbc57ac4cu);
  REQUIRE(block[3] == 0x9b00dbd8u);
}

TEST_CASE("philox_blocks gives philox_block's words for every counter, across 2^32 and partial batches", "[random]") {
  // 0xFFFFFFFB: the carry into the counter's high word inside a vector of 8 blocks; counts below,
  // at and above the 32 blocks an AVX-512 batch makes
  for (const std::uint64_t start : {std::uint64_t{0}, std::uint64_t{0xFFFFFFF0u}, std::uint64_t{0xFFFFFFFBu},
                                    std::uint64_t{123456789012345}}) {
    for (const std::int64_t count : {1, 15, 16, 17, 31, 32, 33, 64, 100}) {
      std::vector<std::uint32_t> words(static_cast<std::size_t>(4 * count));
      Generator::philox_blocks(0x0123456789ABCDEFull, start, count, words.data());
      for (std::int64_t b = 0; b < count; ++b) {
        const auto block = Generator::philox_block(0x0123456789ABCDEFull, start + static_cast<std::uint64_t>(b));
        INFO("start " << start << ", count " << count << ", block " << b);
        REQUIRE(std::equal(block.begin(), block.end(), words.begin() + 4 * b));
      }
    }
  }
}

TEST_CASE("random distributions have the right moments and ranges", "[random]") {
  Generator gen(123);
  const std::int64_t n = 200000;
  auto u = Tensor::uniform({n}, gen, -2.0, 3.0, DType::f64).to_vector<double>();
  REQUIRE(*std::min_element(u.begin(), u.end()) >= -2.0);
  REQUIRE(*std::max_element(u.begin(), u.end()) < 3.0);
  REQUIRE(mean(Tensor::from_vector(u)).item() == Approx(0.5).margin(0.02));
  Tensor z = Tensor::normal({n}, gen, 1.0, 2.0, DType::f64);
  REQUIRE(mean(z).item() == Approx(1.0).margin(0.02));
  REQUIRE(std::sqrt(mean(square(z - 1.0)).item()) == Approx(2.0).margin(0.02));
  auto t = Tensor::truncated_normal({n}, gen, 0.0, 0.5, DType::f64).to_vector<double>();
  REQUIRE(*std::max_element(t.begin(), t.end()) <= 1.0);
  REQUIRE(*std::min_element(t.begin(), t.end()) >= -1.0);
  // Truncated at 2 sigma, the std shrinks to about 0.8796 sigma.
  REQUIRE(std::sqrt(mean(square(Tensor::from_vector(t))).item()) == Approx(0.5 * 0.8796).margin(0.005));
  // At 1 sigma: variance 1 - 2 phi(1) / (2 Phi(1) - 1) = 0.29112, std 0.53955.
  auto t1 = Tensor::truncated_normal({n}, gen, 0.0, 1.0, DType::f64, 1.0).to_vector<double>();
  REQUIRE(*std::max_element(t1.begin(), t1.end()) <= 1.0);
  REQUIRE(*std::min_element(t1.begin(), t1.end()) >= -1.0);
  REQUIRE(std::sqrt(mean(square(Tensor::from_vector(t1))).item()) == Approx(0.53955).margin(0.004));
  REQUIRE_THROWS_AS(Tensor::truncated_normal({2}, gen, 0.0, 1.0, DType::f64, 0.0), ValueError);
}

TEST_CASE("Tensor::uniform gives exactly the numbers of successive Generator::uniform() calls", "[random]") {
  for (const std::int64_t n : {0, 1, 2, 7, 100001}) {
    for (const int skip : {0, 1, 2, 3}) {
      INFO("n " << n << ", words drawn before " << skip);
      Generator a(99), b(99);
      for (int k = 0; k < skip; ++k) {
        a.next_u32();
        b.next_u32();
      }
      // [0, 1): the values themselves, exact whatever FMA contraction the compilers chose.
      const auto values = Tensor::uniform({n}, a, 0.0, 1.0, DType::f64).to_vector<double>();
      for (std::int64_t i = 0; i < n; ++i) REQUIRE(values[static_cast<std::size_t>(i)] == b.uniform());
      REQUIRE(a.state() == b.state());
      REQUIRE(a.next_u32() == b.next_u32());
    }
  }
}
