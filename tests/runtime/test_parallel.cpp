// The array API split over threads (kernels/parallel.hpp): the bytes and
// floats do not depend on the thread count or on the executor, chunks fall on
// block boundaries, a small call stays on one thread, and an error in any
// chunk is the single-threaded error, naming the same block.
#include <qmath/quant.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "test_support.hpp"

using namespace qmath;

namespace {

// Large enough for several tasks (kernels split at 256 Ki elements per task),
// with an odd number of blocks so that the last chunk is short.
constexpr std::size_t n_large = (std::size_t{1} << 20) + 256 * 37;  // whole blocks of 32 and of 256

std::vector<float> student_t(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::student_t_distribution<float> t(3.0f);
  std::vector<float> x(n);
  for (auto& v : x) v = t(rng);
  return x;
}

// Runs every task on the calling thread, in reverse order, and records the
// task count: a caller's executor that is nothing like qmath::threads.
struct reverse_executor {
  std::size_t lanes;
  mutable std::size_t last_tasks = 0;
  std::size_t concurrency() const { return lanes; }
  void run(std::size_t tasks, task_ref f) const {
    last_tasks = tasks;
    for (std::size_t i = tasks; i-- > 0;) f(i);
  }
};
static_assert(executor<reverse_executor>);

// Quantize and dequantize a large array on 1 to 8 threads and on the reverse
// executor: every result equals the single-threaded call's.
template <class F>
void check_block_format(const char* name) {
  INFO(name);
  const auto x = student_t(n_large, 7);
  const std::size_t bytes = storage_bytes<F>(x.size());
  std::vector<std::byte> one(bytes), many(bytes);
  quantize<F>(x, one);
  for (unsigned t : {1u, 2u, 3u, 8u}) {
    INFO(t << " threads");
    std::fill(many.begin(), many.end(), std::byte{0x5a});
    quantize<F>(x, many, threads{t});
    CHECK(std::memcmp(one.data(), many.data(), bytes) == 0);
  }
  reverse_executor rev{4};
  quantize<F>(x, many, rev);
  CHECK(rev.last_tasks == 4);
  CHECK(std::memcmp(one.data(), many.data(), bytes) == 0);

  std::vector<float> y1(x.size()), y2(x.size());
  dequantize<F>(one, y1);
  for (unsigned t : {2u, 3u}) {
    std::fill(y2.begin(), y2.end(), -1.0f);
    dequantize<F>(one, y2, threads{t});
    CHECK(std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)) == 0);
  }
  dequantize<F>(one, y2, rev);
  CHECK(std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)) == 0);
}

}  // namespace

TEST_CASE("block formats: the bytes do not depend on the thread count or executor") {
  check_block_format<formats::q8_0>("q8_0");
  check_block_format<formats::q4_0>("q4_0");
  check_block_format<formats::q4_1>("q4_1");
  check_block_format<formats::q5_0>("q5_0");
  check_block_format<formats::q5_1>("q5_1");
  check_block_format<formats::iq4_nl>("iq4_nl");
  check_block_format<formats::q2_k>("q2_k");
  check_block_format<formats::tq1_0>("tq1_0");
  check_block_format<formats::tq2_0>("tq2_0");
}

TEST_CASE("formats stored in planes (bitsandbytes) take threads and run on one") {
  static_assert(!kernels::stored_as_blocks<formats::nf4_dq>);
  static_assert(kernels::stored_as_blocks<formats::q8_0>);
  const auto x = student_t(64 * 1024, 3);
  std::vector<std::byte> a(storage_bytes<formats::nf4_dq>(x.size())), b(a.size());
  quantize<formats::nf4_dq>(x, a);
  reverse_executor rev{4};
  quantize<formats::nf4_dq>(x, b, rev);
  CHECK(rev.last_tasks == 0);  // never split
  CHECK(a == b);
}

TEST_CASE("chunks are whole blocks, in order, covering the array once") {
  // A call with one thread's worth of work stays on the caller.
  reverse_executor rev{8};
  const auto small = student_t(64 * 1024, 1);  // 64 Ki floats: in cache, one task
  std::vector<std::byte> q(storage_bytes<formats::q8_0>(small.size()));
  quantize<formats::q8_0>(small, q, rev);
  CHECK(rev.last_tasks == 0);

  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  std::mutex m;
  struct recording {
    std::size_t concurrency() const { return 3; }
    void run(std::size_t tasks, task_ref f) const { threads{3}.run(tasks, f); }
  };
  recording exec;
  const bool ok = detail::for_each_chunk(exec, 1000, 10, 16, 32000, [&](std::size_t first, std::size_t end) {
    CHECK(detail::call_elements(1) == 32000);  // kernels see the whole call's size
    std::lock_guard lock(m);
    ranges.emplace_back(first, end);
  });
  CHECK(ok);
  std::sort(ranges.begin(), ranges.end());
  REQUIRE(ranges.size() == 3);
  CHECK(ranges[0].first == 0);
  for (std::size_t i = 0; i + 1 < ranges.size(); ++i) {
    CHECK(ranges[i].second == ranges[i + 1].first);
    CHECK(ranges[i].second % 16 == 0);
  }
  CHECK(ranges.back().second == 1000);
  CHECK(detail::call_elements(5) == 5);  // reset after the call
}

TEST_CASE("a NaN in any chunk is the single-threaded error, same block") {
  auto x = student_t(n_large, 11);
  const std::size_t bad_block = x.size() / 32 - 40;  // in the last chunk
  x[bad_block * 32 + 5] = std::nanf("");
  std::vector<std::byte> q(storage_bytes<formats::q4_0>(x.size()));
  const std::string single = qmath_test::error_of([&] { quantize<formats::q4_0>(x, q); });
  const std::string split = qmath_test::error_of([&] { quantize<formats::q4_0>(x, q, threads{3}); });
  CHECK(single.find(std::to_string(bad_block)) != std::string::npos);
  CHECK(split == single);
}

TEST_CASE("threads: every task runs once, exceptions reach the caller") {
  std::vector<std::atomic<int>> hits(13);
  auto count = [&](std::size_t i) { hits[i].fetch_add(1); };
  threads{4}.run(hits.size(), task_ref(count));
  for (auto& h : hits) CHECK(h.load() == 1);
  auto fail = [](std::size_t i) {
    if (i == 2) throw std::runtime_error("task 2");
  };
  CHECK_THROWS_WITH(threads{3}.run(5, task_ref(fail)), "task 2");
  CHECK(threads{0}.concurrency() >= 1);
  CHECK(threads{5}.concurrency() == 5);
}

TEST_CASE("convert: the elements do not depend on the thread count") {
  const auto x = student_t(n_large + 17, 5);  // not a multiple of 64
  auto check = [&]<class T>(T) {
    std::vector<T> one(x.size()), many(x.size());
    convert(std::span<const float>(x), std::span<T>(one));
    convert(std::span<const float>(x), std::span<T>(many), threads{3});
    CHECK(std::memcmp(one.data(), many.data(), one.size() * sizeof(T)) == 0);
    std::vector<float> back1(x.size()), back2(x.size());
    convert(std::span<const T>(one), std::span<float>(back1));
    convert(std::span<const T>(one), std::span<float>(back2), threads{2});
    CHECK(std::memcmp(back1.data(), back2.data(), back1.size() * sizeof(float)) == 0);
  };
  check(fp16{});
  check(bf16{});
  check(fp8_e4m3{});
  check(fp8_e5m2{});
  std::vector<fp8_e4m3> sat1(x.size()), sat2(x.size());
  convert(std::span<const float>(x), std::span<fp8_e4m3>(sat1), fp8_overflow::saturate);
  convert(std::span<const float>(x), std::span<fp8_e4m3>(sat2), fp8_overflow::saturate, threads{2});
  CHECK(std::memcmp(sat1.data(), sat2.data(), sat1.size()) == 0);
  std::vector<fp16> wrong(3);
  CHECK_THROWS_AS(convert(std::span<const float>(x), std::span<fp16>(wrong), threads{2}), qmath::error);
}
