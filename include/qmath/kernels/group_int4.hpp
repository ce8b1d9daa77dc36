#pragma once
// GPTQ / AWQ group-wise INT4: the array API and the SIMD dequantizer (packing
// and rules in formats/group_int4.hpp).
//
//   qmath::group_int4::quantize<Arch>(W, shape, packing, qweight, qzeros, scales)
//   qmath::group_int4::dequantize<Arch>(qweight, qzeros, scales, shape, packing, W)
//   qmath::quantize<formats::gptq_int4<In, G>>(in, bytes) / dequantize<...>, also awq_int4, gptq_v2_int4
//
// Dequantize writes W [out, in] row-major in tiles whose qweight words are
// adjacent in memory, so each pass reads whole qweight lines and writes whole
// 64-byte output lines (16 inputs of one output row):
//   GPTQ  16 output columns x 16 inputs: two 64-byte runs of qweight (input
//         rows 8r and 8r+8); per output, vpermt2d gathers its two words into
//         the 16 lanes and vpsrlvd shifts nibble k to the bottom of lane k.
//   AWQ   16 words (128 output columns) x 16 input rows: a 16 x 16 transpose
//         of 32-bit words in registers puts one word column (16 inputs) in a
//         register; the interleave [0, 2, 4, 6, 1, 3, 5, 7] is undone by the
//         shift chosen per output (4 * awq_reverse_order[m]), not by a gather.
// AVX-512 looks the codes up in a per-(group, output) table
// t[q] = (q - z) * s (vpermps reads only the low 4 index bits); AVX2 computes
// (q - z) as int32, converts exactly and multiplies by the fp16 scale. Both are
// the reference's one rounding, so every path is bit-identical to it.
// The output is written with streaming stores when it is >= 16 MiB and starts
// on a 64-byte boundary (allocate it aligned), else with ordinary stores and a
// write prefetch ahead of each row (the bnb_4bit kernels' mechanism).
// Other architectures run the scalar reference. Quantization (a min/max per
// group, a division per weight) runs the scalar reference on every architecture.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "qmath/error.hpp"
#include "qmath/formats/group_int4.hpp"
#include "qmath/kernels/arch.hpp"
#include "qmath/kernels/quantize.hpp"

#if !QMATH_DISABLE_SIMD && (defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86))
#include <immintrin.h>
#endif

#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX512F
#define QMATH_GROUP_INT4_AVX512 1
#else
#define QMATH_GROUP_INT4_AVX512 0
#endif
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
#define QMATH_GROUP_INT4_AVX2 1
#else
#define QMATH_GROUP_INT4_AVX2 0
#endif

// GCC 12 reports its own _mm512_undefined_* placeholders inside the AVX-512
// intrinsics as (maybe-)uninitialized (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace qmath::kernels::int4 {

#if QMATH_GROUP_INT4_AVX2 || QMATH_GROUP_INT4_AVX512
// Output store policy. Outputs of >= 16 MiB that start on a 64-byte boundary
// go past the caches with non-temporal stores (no read-for-ownership, and the
// output would not fit anyway); smaller ones are prefetched for writing
// (prefetchw) `write_ahead` bytes ahead in each output row.
inline constexpr std::size_t stream_threshold_bytes = std::size_t{16} << 20;
inline constexpr std::size_t write_ahead = 2048;
// Input rows of qweight fetched ahead of the tile (the tile reads one 64-byte
// run per input row, a stride the hardware prefetchers do not follow).
inline constexpr std::size_t read_ahead_rows = 32;
inline constexpr std::size_t read_ahead_groups = 2;

inline bool use_streaming_stores(const float* w, std::size_t n) noexcept {
  return n * sizeof(float) >= stream_threshold_bytes && reinterpret_cast<std::uintptr_t>(w) % 64 == 0;
}

// Addresses are formed as integers: prefetching past the end is harmless.
template <class Arch>
inline void prefetch_read(const void* p, std::size_t ahead_bytes) noexcept {
  _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(p) + ahead_bytes), _MM_HINT_T0);
}
template <class Arch>
inline void prefetch_write(const float* p, std::size_t ahead_bytes) noexcept {
  _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(p) + ahead_bytes), _MM_HINT_ET0);
}
#endif

#if QMATH_GROUP_INT4_AVX512
template <class Arch, bool Stream>
inline void store16(float* dst, __m512 y) noexcept {
  if constexpr (Stream)
    _mm512_stream_ps(dst, y);
  else
    _mm512_storeu_ps(dst, y);
}

// t[q] = (q - z) * s for q = 0..15: exactly the reference's arithmetic.
template <class Arch>
inline __m512 code_table(int zero, float scale) noexcept {
  const __m512i q = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(q, _mm512_set1_epi32(zero))), _mm512_set1_ps(scale));
}

// Cols (16 or 8) output columns o0.. x the inputs of group g: each output row
// gets its G floats (2 to 8 whole lines) in one run; the group's qweight
// words (G/8 runs of Cols words) stay in L1 across the Cols rows.
template <class Arch, bool Stream, std::size_t Cols>
inline void gptq_tile_avx512(const std::int32_t* qweight, std::span<const std::int32_t> qzeros, const fp16* scales,
                             const group_int4::shape& s, int4_packing p, std::size_t o0, std::size_t g, float* w) {
  const std::size_t out = s.out_features, in = s.in_features;
  const std::size_t r_begin = g * s.group_size / 8, r_end = (g + 1) * s.group_size / 8;
  for (std::size_t r = r_begin; r < r_end; ++r)
    prefetch_read<Arch>(qweight + r * out + o0, read_ahead_groups * s.group_size / 8 * out * 4);
  const __m512i shifts = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
  for (std::size_t j = 0; j < Cols; ++j) {
    const __m512 table = code_table<Arch>(group_int4::zero_at(qzeros, p, s, g, o0 + j),
                                          qmath::detail::fp16_bits_to_float(scales[g * out + o0 + j].bits));
    const int a = static_cast<int>(j), b = static_cast<int>(j + 16);
    const __m512i pick = _mm512_setr_epi32(a, a, a, a, a, a, a, a, b, b, b, b, b, b, b, b);
    float* row = w + (o0 + j) * in;
    for (std::size_t r = r_begin; r < r_end; r += 2) {
      const std::int32_t* src = qweight + r * out + o0;
      __m512i first, second;  // input rows 8r..8r+7 and 8r+8..8r+15 of the Cols outputs
      if constexpr (Cols == 16) {
        first = _mm512_loadu_si512(src);
        second = _mm512_loadu_si512(src + out);
      } else {
        first = _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src)));
        second = _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + out)));
      }
      const __m512i codes = _mm512_srlv_epi32(_mm512_permutex2var_epi32(first, pick, second), shifts);
      if constexpr (!Stream) prefetch_write<Arch>(row + 8 * r, write_ahead);
      store16<Arch, Stream>(row + 8 * r, _mm512_permutexvar_ps(codes, table));
    }
  }
}

template <class Arch, bool Stream>
inline void dequantize_gptq_avx512(const std::int32_t* qweight, std::span<const std::int32_t> qzeros,
                                   const fp16* scales, const group_int4::shape& s, int4_packing p, float* w) {
  const std::size_t out = s.out_features;
  std::size_t o0 = 0;
  for (; o0 + 16 <= out; o0 += 16)
    for (std::size_t g = 0; g < s.groups(); ++g)
      gptq_tile_avx512<Arch, Stream, 16>(qweight, qzeros, scales, s, p, o0, g, w);
  if (o0 < out)  // out % 16 == 8
    for (std::size_t g = 0; g < s.groups(); ++g)
      gptq_tile_avx512<Arch, Stream, 8>(qweight, qzeros, scales, s, p, o0, g, w);
  if constexpr (Stream) _mm_sfence();
}

// Transposes a 16 x 16 matrix of 32-bit words held one row per register.
template <class Arch>
inline void transpose16x16(__m512i (&m)[16]) noexcept {
  __m512i t[16], u[16];
  for (int k = 0; k < 16; k += 2) {
    t[k] = _mm512_unpacklo_epi32(m[k], m[k + 1]);      // per 128-bit block b: m[k][4b], m[k+1][4b], m[k][4b+1], m[k+1][4b+1]
    t[k + 1] = _mm512_unpackhi_epi32(m[k], m[k + 1]);  // the same for 4b+2, 4b+3
  }
  for (int q = 0; q < 16; q += 4) {  // u[q + c]: block b holds column 4b + c of rows q..q+3
    u[q + 0] = _mm512_unpacklo_epi64(t[q], t[q + 2]);
    u[q + 1] = _mm512_unpackhi_epi64(t[q], t[q + 2]);
    u[q + 2] = _mm512_unpacklo_epi64(t[q + 1], t[q + 3]);
    u[q + 3] = _mm512_unpackhi_epi64(t[q + 1], t[q + 3]);
  }
  for (int c = 0; c < 4; ++c) {
    const __m512i even_low = _mm512_shuffle_i32x4(u[c], u[4 + c], _MM_SHUFFLE(2, 0, 2, 0));
    const __m512i odd_low = _mm512_shuffle_i32x4(u[c], u[4 + c], _MM_SHUFFLE(3, 1, 3, 1));
    const __m512i even_high = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], _MM_SHUFFLE(2, 0, 2, 0));
    const __m512i odd_high = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], _MM_SHUFFLE(3, 1, 3, 1));
    m[c] = _mm512_shuffle_i32x4(even_low, even_high, _MM_SHUFFLE(2, 0, 2, 0));     // block 0: column c
    m[8 + c] = _mm512_shuffle_i32x4(even_low, even_high, _MM_SHUFFLE(3, 1, 3, 1)); // block 2: column 8 + c
    m[4 + c] = _mm512_shuffle_i32x4(odd_low, odd_high, _MM_SHUFFLE(2, 0, 2, 0));   // block 1: column 4 + c
    m[12 + c] = _mm512_shuffle_i32x4(odd_low, odd_high, _MM_SHUFFLE(3, 1, 3, 1));  // block 3: column 12 + c
  }
}

// Output column 8c + m sits in nibble awq_reverse_order[m] of word column c.
template <class Arch, bool Stream, std::size_t M>
inline void awq_emit_avx512(__m512i words, const __m512* tables, float* dst, std::size_t in) noexcept {
  constexpr unsigned shift = 4 * group_int4::awq_reverse_order[M];
  float* row = dst + M * in;
  if constexpr (!Stream) prefetch_write<Arch>(row, write_ahead);
  store16<Arch, Stream>(row, _mm512_permutexvar_ps(_mm512_srli_epi32(words, shift), tables[M]));
}

template <class Arch, bool Stream>
inline void dequantize_awq_avx512(const std::int32_t* qweight, std::span<const std::int32_t> qzeros,
                                  const fp16* scales, const group_int4::shape& s, float* w) {
  const std::size_t out = s.out_features, in = s.in_features, words_per_row = out / 8;
  alignas(64) __m512 tables[128];  // one per output column of the tile, for the current group
  for (std::size_t c0 = 0; c0 < words_per_row; c0 += 16) {
    const std::size_t cols = std::min<std::size_t>(16, words_per_row - c0);
    const __mmask16 mask = static_cast<__mmask16>((1u << cols) - 1u);
    for (std::size_t g = 0; g < s.groups(); ++g) {
      for (std::size_t o = 0; o < 8 * cols; ++o)
        tables[o] = code_table<Arch>(group_int4::zero_at(qzeros, int4_packing::awq, s, g, 8 * c0 + o),
                                     qmath::detail::fp16_bits_to_float(scales[g * out + 8 * c0 + o].bits));
      for (std::size_t i = g * s.group_size; i < (g + 1) * s.group_size; i += 16) {
        __m512i m[16];
        const std::int32_t* src = qweight + i * words_per_row + c0;
        for (std::size_t k = 0; k < 16; ++k) {
          m[k] = _mm512_maskz_loadu_epi32(mask, src + k * words_per_row);
          prefetch_read<Arch>(src + k * words_per_row, 16 * words_per_row * 4);
        }
        transpose16x16<Arch>(m);  // m[c]: word column c0 + c of input rows i..i+15
        for (std::size_t c = 0; c < cols; ++c) {
          float* dst = w + 8 * (c0 + c) * in + i;
          const __m512* t = tables + 8 * c;
          [&]<std::size_t... M>(std::index_sequence<M...>) {
            (awq_emit_avx512<Arch, Stream, M>(m[c], t, dst, in), ...);
          }(std::make_index_sequence<8>{});
        }
      }
    }
  }
  if constexpr (Stream) _mm_sfence();
}
#endif  // QMATH_GROUP_INT4_AVX512

#if QMATH_GROUP_INT4_AVX2
template <class Arch, bool Stream>
inline void store8(float* dst, __m256 y) noexcept {
  if constexpr (Stream)
    _mm256_stream_ps(dst, y);
  else
    _mm256_storeu_ps(dst, y);
}

// (q - z) * s on eight codes already masked to 4 bits.
template <class Arch>
inline __m256 scale_codes(__m256i codes, __m256i zero, __m256 scale) noexcept {
  return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(codes, zero)), scale);
}

// 8 output columns o0.. x the input rows of group g, 16 inputs (one line) per output and step.
template <class Arch, bool Stream>
inline void gptq_tile_avx2(const std::int32_t* qweight, std::span<const std::int32_t> qzeros, const fp16* scales,
                           const group_int4::shape& s, int4_packing p, std::size_t o0, std::size_t g, float* w) {
  const std::size_t out = s.out_features, in = s.in_features;
  const __m256i shifts = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
  const __m256i low4 = _mm256_set1_epi32(15);
  alignas(32) __m256i zero[8];
  alignas(32) __m256 scale[8];
  for (std::size_t j = 0; j < 8; ++j) {
    zero[j] = _mm256_set1_epi32(group_int4::zero_at(qzeros, p, s, g, o0 + j));
    scale[j] = _mm256_set1_ps(qmath::detail::fp16_bits_to_float(scales[g * out + o0 + j].bits));
  }
  const std::size_t r_end = (g + 1) * s.group_size / 8;
  for (std::size_t r = g * s.group_size / 8; r < r_end; r += 2) {
    const std::int32_t* src = qweight + r * out + o0;
    prefetch_read<Arch>(src, read_ahead_rows * out * 4);
    prefetch_read<Arch>(src, (read_ahead_rows + 1) * out * 4);
    const __m256i first = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
    const __m256i second = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + out));
#pragma GCC unroll 8
    for (std::size_t j = 0; j < 8; ++j) {
      const __m256i pick = _mm256_set1_epi32(static_cast<int>(j));
      const __m256i c0 = _mm256_and_si256(_mm256_srlv_epi32(_mm256_permutevar8x32_epi32(first, pick), shifts), low4);
      const __m256i c1 = _mm256_and_si256(_mm256_srlv_epi32(_mm256_permutevar8x32_epi32(second, pick), shifts), low4);
      float* dst = w + (o0 + j) * in + 8 * r;
      if constexpr (!Stream) prefetch_write<Arch>(dst, write_ahead);
      store8<Arch, Stream>(dst, scale_codes<Arch>(c0, zero[j], scale[j]));
      store8<Arch, Stream>(dst + 8, scale_codes<Arch>(c1, zero[j], scale[j]));
    }
  }
}

template <class Arch, bool Stream>
inline void dequantize_gptq_avx2(const std::int32_t* qweight, std::span<const std::int32_t> qzeros,
                                 const fp16* scales, const group_int4::shape& s, int4_packing p, float* w) {
  for (std::size_t o0 = 0; o0 < s.out_features; o0 += 8)
    for (std::size_t g = 0; g < s.groups(); ++g) gptq_tile_avx2<Arch, Stream>(qweight, qzeros, scales, s, p, o0, g, w);
  if constexpr (Stream) _mm_sfence();
}

// Transposes an 8 x 8 matrix of 32-bit words held one row per register.
template <class Arch>
inline void transpose8x8(__m256i (&m)[8]) noexcept {
  __m256i t[8], u[8];
  for (int k = 0; k < 8; k += 2) {
    t[k] = _mm256_unpacklo_epi32(m[k], m[k + 1]);
    t[k + 1] = _mm256_unpackhi_epi32(m[k], m[k + 1]);
  }
  for (int q = 0; q < 8; q += 4) {  // u[q + c]: 128-bit half b holds column 4b + c of rows q..q+3
    u[q + 0] = _mm256_unpacklo_epi64(t[q], t[q + 2]);
    u[q + 1] = _mm256_unpackhi_epi64(t[q], t[q + 2]);
    u[q + 2] = _mm256_unpacklo_epi64(t[q + 1], t[q + 3]);
    u[q + 3] = _mm256_unpackhi_epi64(t[q + 1], t[q + 3]);
  }
  for (int c = 0; c < 4; ++c) {
    m[c] = _mm256_permute2x128_si256(u[c], u[4 + c], 0x20);
    m[4 + c] = _mm256_permute2x128_si256(u[c], u[4 + c], 0x31);
  }
}

// 8 word columns (64 output columns) x 16 input rows per step, as two 8 x 8 transposes.
template <class Arch, bool Stream>
inline void dequantize_awq_avx2(const std::int32_t* qweight, std::span<const std::int32_t> qzeros, const fp16* scales,
                                const group_int4::shape& s, float* w) {
  const std::size_t out = s.out_features, in = s.in_features, words_per_row = out / 8;
  const __m256i low4 = _mm256_set1_epi32(15);
  alignas(32) __m256i zero[64];
  alignas(32) __m256 scale[64];
  for (std::size_t c0 = 0; c0 < words_per_row; c0 += 8) {
    const std::size_t cols = std::min<std::size_t>(8, words_per_row - c0);
    const __m256i lane_ids = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(cols)), lane_ids);
    for (std::size_t g = 0; g < s.groups(); ++g) {
      for (std::size_t o = 0; o < 8 * cols; ++o) {
        zero[o] = _mm256_set1_epi32(group_int4::zero_at(qzeros, int4_packing::awq, s, g, 8 * c0 + o));
        scale[o] = _mm256_set1_ps(qmath::detail::fp16_bits_to_float(scales[g * out + 8 * c0 + o].bits));
      }
      for (std::size_t i = g * s.group_size; i < (g + 1) * s.group_size; i += 16) {
        __m256i lo[8], hi[8];
        const std::int32_t* src = qweight + i * words_per_row + c0;
        for (std::size_t k = 0; k < 8; ++k) {
          lo[k] = _mm256_maskload_epi32(reinterpret_cast<const int*>(src + k * words_per_row), mask);
          hi[k] = _mm256_maskload_epi32(reinterpret_cast<const int*>(src + (k + 8) * words_per_row), mask);
          prefetch_read<Arch>(src + k * words_per_row, 16 * words_per_row * 4);
          prefetch_read<Arch>(src + (k + 8) * words_per_row, 16 * words_per_row * 4);
        }
        transpose8x8<Arch>(lo);  // lo[c]: word column c0 + c of input rows i..i+7
        transpose8x8<Arch>(hi);  // ... of input rows i+8..i+15
        for (std::size_t c = 0; c < cols; ++c)
          for (std::size_t m = 0; m < 8; ++m) {
            const __m128i shift = _mm_cvtsi32_si128(static_cast<int>(4 * group_int4::awq_reverse_order[m]));
            const std::size_t o = 8 * c + m;
            float* dst = w + (8 * c0 + o) * in + i;
            if constexpr (!Stream) prefetch_write<Arch>(dst, write_ahead);
            store8<Arch, Stream>(dst, scale_codes<Arch>(_mm256_and_si256(_mm256_srl_epi32(lo[c], shift), low4), zero[o], scale[o]));
            store8<Arch, Stream>(dst + 8,
                                 scale_codes<Arch>(_mm256_and_si256(_mm256_srl_epi32(hi[c], shift), low4), zero[o], scale[o]));
          }
      }
    }
  }
  if constexpr (Stream) _mm_sfence();
}
#endif  // QMATH_GROUP_INT4_AVX2

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
#if QMATH_GROUP_INT4_AVX512
  if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
    auto run = [&]<bool Stream>() {
      if (p == int4_packing::awq)
        kernels::int4::dequantize_awq_avx512<Arch, Stream>(qweight.data(), qzeros, scales.data(), s, w.data());
      else
        kernels::int4::dequantize_gptq_avx512<Arch, Stream>(qweight.data(), qzeros, scales.data(), s, p, w.data());
    };
    if (kernels::int4::use_streaming_stores(w.data(), w.size()))
      run.template operator()<true>();
    else
      run.template operator()<false>();
    return;
  }
#endif
#if QMATH_GROUP_INT4_AVX2
  if constexpr (std::is_base_of_v<xsimd::avx2, Arch>) {
    auto run = [&]<bool Stream>() {
      if (p == int4_packing::awq)
        kernels::int4::dequantize_awq_avx2<Arch, Stream>(qweight.data(), qzeros, scales.data(), s, w.data());
      else
        kernels::int4::dequantize_gptq_avx2<Arch, Stream>(qweight.data(), qzeros, scales.data(), s, p, w.data());
    };
    if (kernels::int4::use_streaming_stores(w.data(), w.size()))
      run.template operator()<true>();
    else
      run.template operator()<false>();
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

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
