#pragma once
// SIMD kernels and the public API of LLM.int8 row-wise INT8 (the rule and the
// scalar reference are in formats/bnb_int8.hpp):
//
//   qmath::bnb::quantize_int8_rowwise<Arch>(a, rows, cols, q, row_stats, threshold) -> outlier columns
//   qmath::bnb::dequantize_int8_rowwise<Arch>(q, row_stats, rows, cols, out)
//   qmath::quantize<formats::int8_rowwise<N>>(in, bytes) / qmath::dequantize<...>(bytes, out)
//
// AVX-512F and AVX2: row absmax on the float bits as unsigned integers (|x|
// orders like its bits; NaN and infinity show up as bits >= 0x7F800000),
// vcvtps2dq (round to nearest even, the default MXCSR mode) and a narrowing
// store; dequantize widens int8 to float with vpmovsxbd + vcvtdq2ps. Other
// architectures use xsimd for the float work and scalar narrowing. A threshold
// above 0 first finds the outlier columns with the scalar reference.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "qmath/error.hpp"
#include "qmath/formats/bnb_int8.hpp"
#include "qmath/kernels/arch.hpp"
#include "qmath/kernels/detail/stream_store.hpp"
#include "qmath/kernels/quantize.hpp"

#if !QMATH_DISABLE_SIMD && (defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86))
#include <immintrin.h>
#endif

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels::bnb8 {

inline constexpr std::uint32_t non_finite_bits = 0x7F800000u;

// max |a| over a row as float bits; `threshold` > 0 leaves out |a| >= threshold.
template <class Arch>
inline std::uint32_t row_max_bits(const float* row, std::size_t cols, float threshold) {
  std::size_t c = 0;
  std::uint32_t best = 0, all = 0;
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX512F
  if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
    const __m512i abs_mask = _mm512_set1_epi32(0x7FFFFFFF);
    const __m512 limit = _mm512_set1_ps(threshold);
    __m512i kept = _mm512_setzero_si512(), every = _mm512_setzero_si512();
    for (; c + 16 <= cols; c += 16) {
      const __m512i bits = _mm512_and_si512(_mm512_loadu_si512(row + c), abs_mask);
      every = _mm512_max_epu32(every, bits);
      const __mmask16 inside = threshold > 0.0f ? _mm512_cmp_ps_mask(_mm512_castsi512_ps(bits), limit, _CMP_LT_OQ)
                                                : static_cast<__mmask16>(0xFFFF);
      kept = _mm512_mask_max_epu32(kept, inside, kept, bits);
    }
    best = _mm512_reduce_max_epu32(kept);
    all = _mm512_reduce_max_epu32(every);
  }
#endif
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
  if constexpr (std::is_base_of_v<xsimd::avx2, Arch> && !std::is_base_of_v<xsimd::avx512f, Arch>) {
    const __m256i abs_mask = _mm256_set1_epi32(0x7FFFFFFF);
    const __m256 limit = _mm256_set1_ps(threshold);
    __m256i kept = _mm256_setzero_si256(), every = _mm256_setzero_si256();
    for (; c + 8 <= cols; c += 8) {
      const __m256i bits = _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + c)), abs_mask);
      every = _mm256_max_epu32(every, bits);
      const __m256i inside = threshold > 0.0f
                                 ? _mm256_castps_si256(_mm256_cmp_ps(_mm256_castsi256_ps(bits), limit, _CMP_LT_OQ))
                                 : _mm256_set1_epi32(-1);
      kept = _mm256_max_epu32(kept, _mm256_and_si256(bits, inside));
    }
    alignas(32) std::uint32_t lanes[16];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), kept);
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes + 8), every);
    best = *std::max_element(lanes, lanes + 8);
    all = *std::max_element(lanes + 8, lanes + 16);
  }
#endif
  for (; c < cols; ++c) {
    const std::uint32_t bits = qmath::detail::float_bits(row[c]) & 0x7FFFFFFFu;
    all = std::max(all, bits);
    if (!(threshold > 0.0f) || qmath::detail::float_from_bits(bits) < threshold) best = std::max(best, bits);
  }
  QMATH_REQUIRE(all < non_finite_bits, "qmath::bnb::quantize_int8_rowwise", "NaN or infinity in a row");
  return best;
}

template <class Arch>
inline void quantize_row(const float* row, std::int8_t* q, std::size_t cols, float scale) {
  std::size_t c = 0;
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX512F
  if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
    const __m512 s = _mm512_set1_ps(scale);
    for (; c + 16 <= cols; c += 16) {
      const __m512i ints = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(row + c), s));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + c), _mm512_cvtsepi32_epi8(ints));
    }
  }
#endif
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
  if constexpr (std::is_base_of_v<xsimd::avx2, Arch>) {
    const __m256 s = _mm256_set1_ps(scale);
    for (; c + 8 <= cols; c += 8) {
      const __m256i ints = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(row + c), s));
      const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(ints), _mm256_extracti128_si256(ints, 1));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(q + c), _mm_packs_epi16(words, words));
    }
  }
#endif
#if !QMATH_DISABLE_SIMD
  if constexpr (!is_scalar_arch<Arch>) {
    using batch = xsimd::batch<float, Arch>;
    constexpr std::size_t lanes = batch::size;
    alignas(Arch::alignment()) std::int32_t ints[lanes];
    // a bound computed once (not c + lanes <= cols): GCC 12 for AArch64 then
    // no longer reports the scalar tail below as overflowing (-Waggressive-loop-optimizations)
    const std::size_t whole = c + (cols - c) / lanes * lanes;
    for (; c < whole; c += lanes) {
      // Clamped first: an outlier (threshold > 0) times the scale may not fit an int32.
      const batch scaled = xsimd::min(xsimd::max(batch::load_unaligned(row + c) * batch(scale), batch(-128.0f)),
                                      batch(127.0f));
      xsimd::nearbyint_as_int(scaled).store_aligned(ints);
      for (std::size_t k = 0; k < lanes; ++k) q[c + k] = static_cast<std::int8_t>(ints[k]);
    }
  }
#endif
  for (; c < cols; ++c) q[c] = bnb::quantize_int8_value(row[c], scale);
}

template <class Arch>
inline void dequantize_row(const std::int8_t* q, float* out, std::size_t cols, float stat) {
  std::size_t c = 0;
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX512F
  if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
    const __m512 s = _mm512_set1_ps(stat), factor = _mm512_set1_ps(bnb::int8_dequant_factor);
    for (; c + 16 <= cols; c += 16) {
      stream_store::prefetch_for_write<Arch>(out + c);
      const __m512 values =
          _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + c))));
      _mm512_storeu_ps(out + c, _mm512_mul_ps(_mm512_mul_ps(values, s), factor));
    }
  }
#endif
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
  if constexpr (std::is_base_of_v<xsimd::avx2, Arch>) {
    const __m256 s = _mm256_set1_ps(stat), factor = _mm256_set1_ps(bnb::int8_dequant_factor);
    for (; c + 8 <= cols; c += 8) {
      if (c % 16 == 0) stream_store::prefetch_for_write<Arch>(out + c);
      const __m256 values =
          _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + c))));
      _mm256_storeu_ps(out + c, _mm256_mul_ps(_mm256_mul_ps(values, s), factor));
    }
  }
#endif
  for (; c < cols; ++c) out[c] = bnb::dequantize_int8_value(q[c], stat);
}

}  // namespace qmath::kernels::bnb8

namespace qmath::bnb {

// Quantizes a rows x cols row-major matrix by `backend`'s rule (formats/bnb_int8.hpp);
// returns the outlier columns (empty when threshold is 0). Throws qmath::error on mismatched sizes or a
// bad threshold (before writing) and on NaN or infinity.
template <class Arch = default_arch>
std::vector<std::size_t> quantize_int8_rowwise(std::span<const float> a, std::size_t rows, std::size_t cols,
                                               std::span<std::int8_t> q, std::span<float> row_stats,
                                               float threshold = 0.0f, bnb_backend backend = bnb_backend::cuda) {
  check_int8_sizes("qmath::bnb::quantize_int8_rowwise", a.size(), rows, cols, q.size(), row_stats.size());
  if constexpr (is_scalar_arch<Arch>) {
    return quantize_int8_rowwise_reference(a, rows, cols, q, row_stats, threshold, backend);
  } else {
    std::vector<std::size_t> outliers;
    if (threshold != 0.0f) outliers = find_outlier_columns(a, rows, cols, threshold, "qmath::bnb::quantize_int8_rowwise");
    for (std::size_t r = 0; r < rows; ++r) {
      const float* row = a.data() + r * cols;
      const float stat = qmath::detail::float_from_bits(kernels::bnb8::row_max_bits<Arch>(row, cols, threshold));
      row_stats[r] = stat;
      const int8_row_rule rule = int8_rule(stat, backend);
      if (rule.mode == int8_row_mode::in_double)
        for (std::size_t c = 0; c < cols; ++c) q[r * cols + c] = quantize_int8_tiny_row(row[c], stat);
      else  // a zero row scales by 0: every code 0
        kernels::bnb8::quantize_row<Arch>(row, q.data() + r * cols, cols, rule.scale);
      for (std::size_t c : outliers) q[r * cols + c] = 0;
    }
    return outliers;
  }
}

template <class Arch = default_arch>
void dequantize_int8_rowwise(std::span<const std::int8_t> q, std::span<const float> row_stats, std::size_t rows,
                             std::size_t cols, std::span<float> out) {
  check_int8_sizes("qmath::bnb::dequantize_int8_rowwise", out.size(), rows, cols, q.size(), row_stats.size());
  for (std::size_t r = 0; r < rows; ++r)
    kernels::bnb8::dequantize_row<Arch>(q.data() + r * cols, out.data() + r * cols, cols, row_stats[r]);
}

}  // namespace qmath::bnb

namespace qmath::kernels {

template <std::uint32_t RowLength>
struct block_kernel<formats::int8_rowwise<RowLength>> {
  template <class Arch>
  static void quantize(std::span<const float> in, std::span<std::byte> out) {
    if (in.empty()) return;  // an empty span's data() may be null, which memcpy must not see
    const std::size_t rows = in.size() / RowLength;
    std::vector<float> stats(rows);
    bnb::quantize_int8_rowwise<Arch>(in, rows, RowLength,
                                     std::span<std::int8_t>(reinterpret_cast<std::int8_t*>(out.data()), in.size()),
                                     stats, 0.0f);
    std::memcpy(out.data() + in.size(), stats.data(), 4 * rows);
  }

  template <class Arch>
  static void dequantize(std::span<const std::byte> in, std::span<float> out) {
    if (out.empty()) return;
    const std::size_t rows = out.size() / RowLength;
    std::vector<float> stats(rows);
    std::memcpy(stats.data(), in.data() + out.size(), 4 * rows);
    bnb::dequantize_int8_rowwise<Arch>(
        std::span<const std::int8_t>(reinterpret_cast<const std::int8_t*>(in.data()), out.size()), stats, rows,
        RowLength, out);
  }
};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
