// Exhaustive sweeps of all 2^32 float bit patterns through float -> fp16,
// bf16, fp8_e4m3 and fp8_e5m2 (both overflow modes): the array kernels of
// this build (default_arch on all inputs; where it has its own x86 kernels,
// the portable xsimd kernels as well on every 16th chunk and all special
// ranges) against the constexpr scalar reference,
// and the reference against the machine's own conversion instructions where
// it has them (F16C vcvtps2ph for fp16, AVX512-BF16 vcvtneps2bf16 for bf16,
// whose flushing of float subnormals is accounted for). Two threads, 64 Ki patterns per chunk.
// With QMATH_TEST_FAST_SWEEPS every 251st pattern is checked, plus the whole
// of the ranges where the formats' special cases live.
#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <thread>
#include <type_traits>
#include <vector>

#include "catch.hpp"
#include "qmath/kernels/fp_convert.hpp"

#if defined(__F16C__) || defined(__AVX512BF16__)
#include <immintrin.h>
#endif

namespace {

constexpr std::size_t kChunk = std::size_t{1} << 16;

#if !QMATH_DISABLE_SIMD
// Whether default_arch has kernels of its own besides the portable ones.
constexpr bool kHasX86Kernels = qmath::kernels::fp_detail::is_avx512bw<qmath::default_arch> ||
                                qmath::kernels::fp_detail::is_avx2_f16c<qmath::default_arch>;
#endif

// The mode only exists for fp8 targets.
template <class To>
constexpr To reference(float x, qmath::fp8_overflow mode) {
  if constexpr (qmath::fp8_format<To>) return qmath::convert<To>(x, mode);
  else return qmath::convert<To>(x);
}
template <class To, class Arch>
void run_kernel(std::span<const float> in, std::span<To> out, qmath::fp8_overflow mode) {
  if constexpr (qmath::fp8_format<To>) qmath::convert<To, Arch>(in, out, mode);
  else qmath::convert<To, Arch>(in, out);
}

struct sweep_counts {
  std::uint64_t checked = 0;
  std::uint64_t kernel_mismatches = 0;   // default_arch or generic kernels vs reference
  std::uint64_t oracle_mismatches = 0;   // reference vs hardware instruction
  std::uint64_t oracle_flushed = 0;      // bf16: float subnormals the instruction flushes
  std::uint32_t first_bad = 0;
  bool any_bad = false;
};

// The chunks a sweep visits: all of them, or (fast mode) a sample.
[[maybe_unused]] bool chunk_is_special(std::uint32_t first) {
  const std::uint32_t magnitude = first & 0x7fffffffu;
  // zero and the smallest subnormals, the fp16/fp8 subnormal, min-normal and
  // overflow boundaries, float max, and the edges of Inf / sNaN / qNaN
  return magnitude < 0x00100000u || (magnitude >= 0x33000000u && magnitude < 0x33100000u) ||
         (magnitude >= 0x38780000u && magnitude < 0x38880000u) || (magnitude >= 0x3a800000u && magnitude < 0x3a900000u) ||
         (magnitude >= 0x3c780000u && magnitude < 0x3c880000u) || (magnitude >= 0x43e00000u && magnitude < 0x43f00000u) ||
         (magnitude >= 0x47600000u && magnitude < 0x47800000u) || (magnitude >= 0x7f7f0000u && magnitude < 0x7f810000u) ||
         (magnitude >= 0x7fbf0000u && magnitude < 0x7fc10000u) || magnitude >= 0x7fff0000u;
}

template <class To, class Oracle>
sweep_counts sweep(qmath::fp8_overflow mode, Oracle&& oracle) {
  std::array<sweep_counts, 2> per_thread{};
  auto work = [&](unsigned thread) {
    sweep_counts& c = per_thread[thread];
    std::vector<float> in(kChunk);
    std::vector<To> ref(kChunk), fast(kChunk), generic(kChunk);
    std::vector<std::uint16_t> hw(kChunk);
    const std::uint64_t n_chunks = (std::uint64_t{1} << 32) / kChunk;
    for (std::uint64_t chunk = thread; chunk < n_chunks; chunk += 2) {
      const auto first = static_cast<std::uint32_t>(chunk * kChunk);
      std::size_t n = 0;
#if QMATH_TEST_FAST_SWEEPS
      const bool all = chunk_is_special(first);
#else
      const bool all = true;
#endif
      for (std::uint32_t i = 0; i < kChunk; ++i) {
        const std::uint32_t bits = first + i;
        if (all || bits % 251u == 0) in[n++] = std::bit_cast<float>(bits);
      }
      const std::span<const float> src(in.data(), n);
      for (std::size_t i = 0; i < n; ++i) ref[i] = reference<To>(in[i], mode);
      if constexpr (qmath::is_scalar_arch<qmath::default_arch>)
        std::memcpy(fast.data(), ref.data(), n * sizeof(To));  // the kernel is the reference
      else
        run_kernel<To, qmath::default_arch>(src, std::span<To>(fast.data(), n), mode);
#if !QMATH_DISABLE_SIMD
      // The portable kernels: all of them where they are the default (the
      // sweep above), else (they run a lane at a time where xsimd emulates
      // per-lane shifts) every 16th chunk and all special ones.
      if (kHasX86Kernels && (chunk % 16 == 0 || chunk_is_special(first)))
        run_kernel<To, qmath::kernels::fp_generic_arch<xsimd::default_arch>>(src, std::span<To>(generic.data(), n), mode);
      else
        std::memcpy(generic.data(), ref.data(), n * sizeof(To));
#else
      std::memcpy(generic.data(), ref.data(), n * sizeof(To));
#endif
      const bool has_oracle = oracle(in.data(), hw.data(), n);
      for (std::size_t i = 0; i < n; ++i) {
        if (!(fast[i] == ref[i]) || !(generic[i] == ref[i])) {
          if (!c.any_bad) c.first_bad = std::bit_cast<std::uint32_t>(in[i]);
          c.any_bad = true;
          ++c.kernel_mismatches;
        }
        if (has_oracle && hw[i] != ref[i].bits) {
          const std::uint32_t bits = std::bit_cast<std::uint32_t>(in[i]);
          if (sizeof(To) == 2 && std::is_same_v<To, qmath::bf16> && (bits & 0x7f800000u) == 0) {
            ++c.oracle_flushed;  // vcvtneps2bf16 treats float subnormals as zero
            if (hw[i] != ((bits >> 16) & 0x8000u)) ++c.oracle_mismatches;
          } else {
            ++c.oracle_mismatches;
            if (!c.any_bad) c.first_bad = bits;
            c.any_bad = true;
          }
        }
      }
      c.checked += n;
    }
  };
  std::thread other(work, 1u);
  work(0u);
  other.join();
  sweep_counts total = per_thread[0];
  total.checked += per_thread[1].checked;
  total.kernel_mismatches += per_thread[1].kernel_mismatches;
  total.oracle_mismatches += per_thread[1].oracle_mismatches;
  total.oracle_flushed += per_thread[1].oracle_flushed;
  if (!total.any_bad && per_thread[1].any_bad) {
    total.first_bad = per_thread[1].first_bad;
    total.any_bad = true;
  }
  return total;
}

constexpr auto no_oracle = [](const float*, std::uint16_t*, std::size_t) { return false; };

#if QMATH_TEST_FAST_SWEEPS
constexpr bool kFull = false;
#else
constexpr bool kFull = true;
#endif

}  // namespace

TEST_CASE("float -> fp16: all 2^32 inputs, kernels and F16C agree with the reference", "[fp][sweep]") {
  const auto counts = sweep<qmath::fp16>(qmath::fp8_overflow::saturate, [](const float* in, std::uint16_t* out, std::size_t n) {
#if defined(__F16C__)
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; ++i) out[i] = _cvtss_sh(in[i], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    return true;
#else
    (void)in, (void)out, (void)n;
    return false;
#endif
  });
  INFO("first bad input 0x" << std::hex << counts.first_bad);
  if (kFull) CHECK(counts.checked == (std::uint64_t{1} << 32));
  CHECK(counts.kernel_mismatches == 0);
  CHECK(counts.oracle_mismatches == 0);
}

TEST_CASE("float -> bf16: all 2^32 inputs, kernels and AVX512-BF16 agree with the reference", "[fp][sweep]") {
  const auto counts = sweep<qmath::bf16>(qmath::fp8_overflow::saturate, [](const float* in, std::uint16_t* out, std::size_t n) {
#if defined(__AVX512BF16__)
    for (std::size_t i = 0; i < n; i += 16) {
      const auto lanes = static_cast<__mmask16>(n - i >= 16 ? 0xffffu : (1u << (n - i)) - 1u);
      _mm256_mask_storeu_epi16(out + i, lanes, std::bit_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(lanes, in + i))));
    }
    return true;
#else
    (void)in, (void)out, (void)n;
    return false;
#endif
  });
  INFO("first bad input 0x" << std::hex << counts.first_bad);
  CHECK(counts.kernel_mismatches == 0);
  CHECK(counts.oracle_mismatches == 0);
#if defined(__AVX512BF16__)
  // The instruction flushes float subnormals; the reference rounds them, so
  // they differ exactly where the rounded magnitude is not zero: above the
  // tie 0x8000 (which rounds to the even 0), for both signs.
  if (kFull) CHECK(counts.oracle_flushed == 2 * (0x7fffffu - 0x8000u));
#endif
}

TEST_CASE("float -> fp8_e4m3: all 2^32 inputs, both overflow modes, kernels agree with the reference", "[fp][sweep]") {
  for (const auto mode : {qmath::fp8_overflow::saturate, qmath::fp8_overflow::no_saturate}) {
    const auto counts = sweep<qmath::fp8_e4m3>(mode, no_oracle);
    INFO("mode " << static_cast<int>(mode) << ", first bad input 0x" << std::hex << counts.first_bad);
    CHECK(counts.kernel_mismatches == 0);
  }
}

TEST_CASE("float -> fp8_e5m2: all 2^32 inputs, both overflow modes, kernels agree with the reference", "[fp][sweep]") {
  for (const auto mode : {qmath::fp8_overflow::saturate, qmath::fp8_overflow::no_saturate}) {
    const auto counts = sweep<qmath::fp8_e5m2>(mode, no_oracle);
    INFO("mode " << static_cast<int>(mode) << ", first bad input 0x" << std::hex << counts.first_bad);
    CHECK(counts.kernel_mismatches == 0);
  }
}
