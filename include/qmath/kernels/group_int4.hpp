#pragma once
// GPTQ / AWQ group-wise INT4: the array API and the SIMD dequantizer (packing
// and rules in formats/group_int4.hpp).
//
//   qmath::group_int4::quantize<Arch>(W, shape, packing, qweight, qzeros, scales)
//   qmath::group_int4::dequantize<Arch>(qweight, qzeros, scales, shape, packing, W)
//   qmath::quantize<formats::gptq_int4<In, G>>(in, bytes) / dequantize<...>, also awq_int4, gptq_v2_int4
//
// Dequantize writes W [out, in] row-major, eight inputs of one output row at a
// time: (q - z) as int32, converted exactly, times the fp16 scale, the same one
// rounding as the reference. GPTQ: one qweight word holds those eight codes
// (vpsrlvd by 0, 4, ..., 28). AWQ: the eight codes are in eight words of
// consecutive input rows (vpgatherdd), one nibble position per output column.
// The AVX2 kernel serves AVX2 and AVX-512 targets; others run the reference.
// Quantization (a min/max per group, a division per weight) runs the scalar
// reference on every architecture.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "qmath/error.hpp"
#include "qmath/formats/group_int4.hpp"
#include "qmath/kernels/arch.hpp"
#include "qmath/kernels/quantize.hpp"

#if !QMATH_DISABLE_SIMD && (defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86))
#include <immintrin.h>
#endif

#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
#define QMATH_GROUP_INT4_AVX2 1
#else
#define QMATH_GROUP_INT4_AVX2 0
#endif

namespace qmath::kernels::int4 {

#if QMATH_GROUP_INT4_AVX2
// Eight output rows at a time: the eight qweight words of one packed input row
// are adjacent in memory, so the qweight lines of a group are read once from
// memory and then from L1 while each of the eight rows gets the whole group.
template <class Arch>
inline void dequantize_gptq_avx2(const std::int32_t* qweight, std::span<const std::int32_t> qzeros,
                                 const fp16* scales, const group_int4::shape& s, int4_packing p, float* w) {
  const __m256i shifts = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
  const __m256i low4 = _mm256_set1_epi32(15);
  const std::size_t out = s.out_features, in = s.in_features, words_per_group = s.group_size / 8;
  for (std::size_t o0 = 0; o0 < out; o0 += 8) {
    for (std::size_t g = 0; g < s.groups(); ++g) {
      __m256 scale[8];
      __m256i zero[8];
      for (std::size_t m = 0; m < 8; ++m) {
        scale[m] = _mm256_set1_ps(qmath::detail::fp16_bits_to_float(scales[g * out + o0 + m].bits));
        zero[m] = _mm256_set1_epi32(group_int4::zero_at(qzeros, p, s, g, o0 + m));
      }
      // Each output row gets a whole group (G floats, 2 to 8 lines) before the next row.
      for (std::size_t m = 0; m < 8; ++m) {
        float* row = w + (o0 + m) * in;
        for (std::size_t r = g * words_per_group; r < (g + 1) * words_per_group; ++r) {
          const __m256i codes = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(qweight[r * out + o0 + m]), shifts), low4);
          _mm256_storeu_ps(row + 8 * r, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(codes, zero[m])), scale[m]));
        }
      }
    }
  }
}

template <class Arch>
inline void dequantize_awq_avx2(const std::int32_t* qweight, std::span<const std::int32_t> qzeros, const fp16* scales,
                                const group_int4::shape& s, float* w) {
  const std::size_t out = s.out_features, words_per_row = out / 8;
  const __m256i low4 = _mm256_set1_epi32(15);
  const __m256i rows = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                          _mm256_set1_epi32(static_cast<int>(words_per_row)));
  for (std::size_t c = 0; c < words_per_row; ++c) {
    for (std::size_t g = 0; g < s.groups(); ++g) {
      __m256 scale[8];
      __m256i zero[8];
      for (std::size_t m = 0; m < 8; ++m) {
        scale[m] = _mm256_set1_ps(qmath::detail::fp16_bits_to_float(scales[g * out + 8 * c + m].bits));
        zero[m] = _mm256_set1_epi32(group_int4::zero_at(qzeros, int4_packing::awq, s, g, 8 * c + m));
      }
      for (std::size_t i = g * s.group_size; i < (g + 1) * s.group_size; i += 8) {
        const __m256i words = _mm256_i32gather_epi32(reinterpret_cast<const int*>(qweight + i * words_per_row + c), rows, 4);
        for (std::size_t m = 0; m < 8; ++m) {
          const __m128i shift = _mm_cvtsi32_si128(static_cast<int>(4 * group_int4::awq_reverse_order[m]));
          const __m256i codes = _mm256_and_si256(_mm256_srl_epi32(words, shift), low4);
          _mm256_storeu_ps(w + (8 * c + m) * s.in_features + i,
                           _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(codes, zero[m])), scale[m]));
        }
      }
    }
  }
}
#endif

}  // namespace qmath::kernels::int4

namespace qmath::group_int4 {

// Round-to-nearest quantization of W [out, in] into the chosen packing.
// Throws qmath::error on a bad shape or size (before writing) and on NaN or
// infinity (outputs then partly written).
template <class Arch = default_arch>
void quantize(std::span<const float> w, const shape& s, int4_packing p, std::span<std::int32_t> qweight,
              std::span<std::int32_t> qzeros, std::span<fp16> scales) {
  quantize_reference(w, s, p, qweight, qzeros, scales);
}

template <class Arch = default_arch>
void dequantize(std::span<const std::int32_t> qweight, std::span<const std::int32_t> qzeros,
                std::span<const fp16> scales, const shape& s, int4_packing p, std::span<float> w) {
  check_sizes("qmath::group_int4::dequantize", s, w.size(), qweight.size(), qzeros.size(), scales.size());
#if QMATH_GROUP_INT4_AVX2
  if constexpr (std::is_base_of_v<xsimd::avx2, Arch> || std::is_base_of_v<xsimd::avx512f, Arch>) {
    if (p == int4_packing::awq)
      kernels::int4::dequantize_awq_avx2<Arch>(qweight.data(), qzeros, scales.data(), s, w.data());
    else
      kernels::int4::dequantize_gptq_avx2<Arch>(qweight.data(), qzeros, scales.data(), s, p, w.data());
    return;
  }
#endif
  dequantize_reference(qweight, qzeros, scales, s, p, w);
}

}  // namespace qmath::group_int4

namespace qmath::kernels {

template <format_id Id, std::uint32_t InFeatures, std::uint32_t GroupSize, int4_packing Packing>
struct block_kernel<formats::group_int4_format<Id, InFeatures, GroupSize, Packing>> {
  static group_int4::shape shape_of(std::size_t n) {
    const group_int4::shape s{n / InFeatures, InFeatures, GroupSize};
    group_int4::check_shape("qmath::quantize (group int4)", s);
    return s;
  }

  template <class Arch>
  static void quantize(std::span<const float> in, std::span<std::byte> out) {
    if (in.empty()) return;
    const auto s = shape_of(in.size());
    std::vector<std::int32_t> qweight(s.qweight_words()), qzeros(s.qzeros_words());
    std::vector<fp16> scales(s.scales_count());
    group_int4::quantize<Arch>(in, s, Packing, qweight, qzeros, scales);
    std::byte* dst = out.data();
    std::memcpy(dst, qweight.data(), 4 * qweight.size());
    std::memcpy(dst + 4 * qweight.size(), qzeros.data(), 4 * qzeros.size());
    std::memcpy(dst + 4 * (qweight.size() + qzeros.size()), scales.data(), 2 * scales.size());
  }

  template <class Arch>
  static void dequantize(std::span<const std::byte> in, std::span<float> out) {
    if (out.empty()) return;
    const auto s = shape_of(out.size());
    std::vector<std::int32_t> qweight(s.qweight_words()), qzeros(s.qzeros_words());
    std::vector<fp16> scales(s.scales_count());
    const std::byte* src = in.data();
    std::memcpy(qweight.data(), src, 4 * qweight.size());
    std::memcpy(qzeros.data(), src + 4 * qweight.size(), 4 * qzeros.size());
    std::memcpy(scales.data(), src + 4 * (qweight.size() + qzeros.size()), 2 * scales.size());
    group_int4::dequantize<Arch>(qweight, qzeros, scales, s, Packing, out);
  }
};

}  // namespace qmath::kernels
