#pragma once
// GPTQ / AWQ group-wise INT4: the array API and the SIMD dequantizer (packing
// and rules in formats/group_int4.hpp).
//
//   qmath::group_int4::quantize<Arch>(W, shape, packing, qweight, qzeros, scales)
//   qmath::group_int4::dequantize<Arch>(qweight, qzeros, scales, shape, packing, W)
//   qmath::quantize<formats::gptq_int4<In, G>>(in, bytes) / dequantize<...>, also awq_int4, gptq_v2_int4
//
// Dequantize writes W [out, in] row-major in tiles of one group of inputs
// (G = 32..128) by several output rows, each row getting its G floats (2 to 8
// whole 64-byte lines) in one run while the tile's qweight words stay in L1:
//   GPTQ  16 output columns (AVX2: 8): the tile reads one 64-byte run of
//         qweight per packed input row. For 16 inputs of output o, two
//         broadcast loads put word (8r, o) in lanes 0..7 and (8r + 8, o) in
//         lanes 8..15 (the second merged under a mask, no shuffle), and
//         vpsrlvd by 0, 4, .., 28 brings nibble k to the bottom of lane k.
//   AWQ   16 word columns = 128 output columns (AVX2: 8 = 64): the group's
//         words are transposed 16 x 16 (AVX2: 8 x 8) in registers into an L1
//         buffer, one word column per run of inputs; the interleave
//         [0, 2, 4, 6, 1, 3, 5, 7] is undone by the shift chosen per output
//         column (4 * awq_reverse_order[m]), with no gather.
// AVX-512 then looks the codes up in a per-(group, output) table
// t[q] = (q - z) * s (vpermps reads only the low 4 index bits); AVX2 computes
// (q - z) as int32, converts exactly and multiplies by the fp16 scale. Both are
// the reference's one rounding, so every path is bit-identical to it.
// Outputs of 16 MiB or more that start on a 64-byte boundary are written with
// streaming stores (allocate them aligned: misaligned ones take ordinary
// stores and run several times slower); see store_mode below.
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
#include "qmath/kernels/detail/stream_store.hpp"
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

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels::int4 {

#if QMATH_GROUP_INT4_AVX2 || QMATH_GROUP_INT4_AVX512
// Output store policy (kernels/detail/stream_store.hpp). The tiles below
// write several output rows in runs of 2 to 8 whole lines, so they cannot use
// one sequential stream_store writer; they take its size rule and prefetch:
//   stream    outputs of stream_threshold_bytes or more that start on a
//             64-byte boundary (every run is then line-aligned, in_features
//             being a multiple of 32): non-temporal stores, one fence at the end;
//   prefetch  such outputs when misaligned: ordinary stores with prefetchw
//             (stream_store::prefetch_distance ahead in the row);
//   plain     smaller outputs: ordinary stores; the runs are short and the
//             hardware prefetchers serve them (64 Ki GPTQ outputs measured
//             10.2 G/s without prefetchw, 8.2 G/s with it).
enum class store_mode { plain, prefetch, stream };

inline store_mode choose_store_mode(const float* w, std::size_t n) noexcept {
  if (!stream_store::worth_streaming(n)) return store_mode::plain;
  return reinterpret_cast<std::uintptr_t>(w) % 64 == 0 ? store_mode::stream : store_mode::prefetch;
}

// qweight input rows are read one 64-byte run each, a stride the hardware
// prefetchers do not follow; the kernels prefetch them this many groups ahead.
inline constexpr std::size_t read_ahead_groups = 2;

// The address is formed as an integer: prefetching past the end is harmless.
template <class Arch>
inline void prefetch_read(const void* p, std::size_t ahead_bytes) noexcept {
  _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(p) + ahead_bytes), _MM_HINT_T0);
}
#endif

#if QMATH_GROUP_INT4_AVX512
template <class Arch, store_mode Mode>
inline void store16(float* dst, __m512 y) noexcept {
  if constexpr (Mode == store_mode::stream) {
    _mm512_stream_ps(dst, y);
  } else {
    if constexpr (Mode == store_mode::prefetch) stream_store::prefetch_for_write<Arch>(dst);
    _mm512_storeu_ps(dst, y);
  }
}

// t[q] = (q - z) * s for q = 0..15: exactly the reference's arithmetic.
template <class Arch>
inline __m512 code_table(int zero, float scale) noexcept {
  const __m512i q = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(q, _mm512_set1_epi32(zero))), _mm512_set1_ps(scale));
}

// `cols` (16, or 8 at the end) output columns o0.. x the inputs of group g:
// each output row gets its G floats (2 to 8 whole lines) in one run; the
// group's qweight words (G/8 runs of 64 bytes) stay in L1 across the rows.
template <class Arch, store_mode Mode>
inline void gptq_tile_avx512(const std::int32_t* qweight, std::span<const std::int32_t> qzeros, const fp16* scales,
                             const group_int4::shape& s, int4_packing p, std::size_t o0, std::size_t cols,
                             std::size_t g, float* w) {
  const std::size_t out = s.out_features, in = s.in_features;
  const std::size_t r_begin = g * s.group_size / 8, r_end = (g + 1) * s.group_size / 8;
  for (std::size_t r = r_begin; r < r_end; ++r)
    prefetch_read<Arch>(qweight + r * out + o0, read_ahead_groups * s.group_size / 8 * out * 4);
  const __m512i shifts = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
  for (std::size_t j = 0; j < cols; ++j) {
    const __m512 table = code_table<Arch>(group_int4::zero_at(qzeros, p, s, g, o0 + j),
                                          qmath::detail::fp16_bits_to_float(scales[g * out + o0 + j].bits));
    float* row = w + (o0 + j) * in;
    for (std::size_t r = r_begin; r < r_end; r += 2) {
      // Output o0 + j's words for input rows 8r..8r+7 (lanes 0..7) and 8r+8..8r+15 (lanes 8..15):
      // two broadcast loads, the second merged into the upper lanes (no shuffle port).
      const std::int32_t* src = qweight + r * out + o0 + j;
      const __m512i words = _mm512_mask_set1_epi32(_mm512_set1_epi32(src[0]), 0xFF00, src[out]);
      store16<Arch, Mode>(row + 8 * r, _mm512_permutexvar_ps(_mm512_srlv_epi32(words, shifts), table));
    }
  }
}

template <class Arch, store_mode Mode>
inline void dequantize_gptq_avx512(const std::int32_t* qweight, std::span<const std::int32_t> qzeros,
                                   const fp16* scales, const group_int4::shape& s, int4_packing p, float* w) {
  for (std::size_t o0 = 0; o0 < s.out_features; o0 += 16) {
    const std::size_t cols = std::min<std::size_t>(16, s.out_features - o0);
    for (std::size_t g = 0; g < s.groups(); ++g)
      gptq_tile_avx512<Arch, Mode>(qweight, qzeros, scales, s, p, o0, cols, g, w);
  }
  if constexpr (Mode == store_mode::stream) _mm_sfence();
}

// Transposes a 16 x 16 matrix of 32-bit words held one row per register.
template <class Arch>
inline void transpose16x16(__m512i (&m)[16]) noexcept {
  __m512i t[16], u[16];
  for (int k = 0; k < 16; k += 2) {
    // Per 128-bit block b: m[k][4b], m[k+1][4b], m[k][4b+1], m[k+1][4b+1]; then the same for 4b+2, 4b+3.
    t[k] = _mm512_unpacklo_epi32(m[k], m[k + 1]);
    t[k + 1] = _mm512_unpackhi_epi32(m[k], m[k + 1]);
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

// Output column 8(c0 + c) + M sits in nibble awq_reverse_order[M] of word
// column c0 + c; writes that row's `count` inputs from the transposed words.
template <class Arch, store_mode Mode, std::size_t M>
inline void awq_emit_avx512(const std::int32_t* column, __m512 table, float* row, std::size_t count) noexcept {
  constexpr unsigned shift = 4 * group_int4::awq_reverse_order[M];
  for (std::size_t k = 0; k < count; k += 16) {
    const __m512i codes = _mm512_srli_epi32(_mm512_load_si512(column + k), shift);
    store16<Arch, Mode>(row + k, _mm512_permutexvar_ps(codes, table));
  }
}

// Tiles of 16 word columns (128 output columns) x one group of input rows:
// the group's words are transposed 16 x 16 at a time into an L1 buffer, one
// word column per line run, then each output row gets its G floats in one run.
template <class Arch, store_mode Mode>
inline void dequantize_awq_avx512(const std::int32_t* qweight, std::span<const std::int32_t> qzeros,
                                  const fp16* scales, const group_int4::shape& s, float* w) {
  const std::size_t out = s.out_features, in = s.in_features, words_per_row = out / 8, group = s.group_size;
  alignas(64) std::int32_t columns[16][128];  // [word column][input in group], G <= 128
  for (std::size_t c0 = 0; c0 < words_per_row; c0 += 16) {
    const std::size_t cols = std::min<std::size_t>(16, words_per_row - c0);
    const __mmask16 mask = static_cast<__mmask16>((1u << cols) - 1u);
    for (std::size_t g = 0; g < s.groups(); ++g) {
      for (std::size_t i = 0; i < group; i += 16) {
        __m512i m[16];
        const std::int32_t* src = qweight + (g * group + i) * words_per_row + c0;
        for (std::size_t k = 0; k < 16; ++k) {
          m[k] = _mm512_maskz_loadu_epi32(mask, src + k * words_per_row);
          prefetch_read<Arch>(src + k * words_per_row, read_ahead_groups * group * words_per_row * 4);
        }
        transpose16x16<Arch>(m);  // m[c]: word column c0 + c of input rows g*G + i .. + 15
        for (std::size_t c = 0; c < 16; ++c) _mm512_store_si512(&columns[c][i], m[c]);
      }
      for (std::size_t c = 0; c < cols; ++c) {
        const std::size_t o = 8 * (c0 + c);
        float* rows = w + o * in + g * group;
        [&]<std::size_t... M>(std::index_sequence<M...>) {
          (awq_emit_avx512<Arch, Mode, M>(
               columns[c],
               code_table<Arch>(group_int4::zero_at(qzeros, int4_packing::awq, s, g, o + M),
                                qmath::detail::fp16_bits_to_float(scales[g * out + o + M].bits)),
               rows + M * in, group),
           ...);
        }(std::make_index_sequence<8>{});
      }
    }
  }
  if constexpr (Mode == store_mode::stream) _mm_sfence();
}
#endif  // QMATH_GROUP_INT4_AVX512

#if QMATH_GROUP_INT4_AVX2
template <class Arch, store_mode Mode>
inline void store8(float* dst, __m256 y) noexcept {
  if constexpr (Mode == store_mode::stream) {
    _mm256_stream_ps(dst, y);
  } else {
    if constexpr (Mode == store_mode::prefetch) stream_store::prefetch_for_write<Arch>(dst);
    _mm256_storeu_ps(dst, y);
  }
}

// (q - z) * s on eight codes already masked to 4 bits.
template <class Arch>
inline __m256 scale_codes(__m256i codes, __m256i zero, __m256 scale) noexcept {
  return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(codes, zero)), scale);
}

// 8 output columns o0.. x the inputs of group g, as gptq_tile_avx512: each
// output row gets its G floats in one run, the group's words stay in L1.
template <class Arch, store_mode Mode>
inline void gptq_tile_avx2(const std::int32_t* qweight, std::span<const std::int32_t> qzeros, const fp16* scales,
                           const group_int4::shape& s, int4_packing p, std::size_t o0, std::size_t g, float* w) {
  const std::size_t out = s.out_features, in = s.in_features;
  const std::size_t r_begin = g * s.group_size / 8, r_end = (g + 1) * s.group_size / 8;
  for (std::size_t r = r_begin; r < r_end; ++r)
    prefetch_read<Arch>(qweight + r * out + o0, read_ahead_groups * s.group_size / 8 * out * 4);
  const __m256i shifts = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
  const __m256i low4 = _mm256_set1_epi32(15);
  for (std::size_t j = 0; j < 8; ++j) {
    const __m256i zero = _mm256_set1_epi32(group_int4::zero_at(qzeros, p, s, g, o0 + j));
    const __m256 scale = _mm256_set1_ps(qmath::detail::fp16_bits_to_float(scales[g * out + o0 + j].bits));
    float* row = w + (o0 + j) * in;
    for (std::size_t r = r_begin; r < r_end; r += 2) {
      // Broadcast loads of output j's words for input rows 8r.. and 8r+8..
      const __m256i first = _mm256_set1_epi32(qweight[r * out + o0 + j]);
      const __m256i second = _mm256_set1_epi32(qweight[(r + 1) * out + o0 + j]);
      const __m256i c0 = _mm256_and_si256(_mm256_srlv_epi32(first, shifts), low4);
      const __m256i c1 = _mm256_and_si256(_mm256_srlv_epi32(second, shifts), low4);
      store8<Arch, Mode>(row + 8 * r, scale_codes<Arch>(c0, zero, scale));
      store8<Arch, Mode>(row + 8 * r + 8, scale_codes<Arch>(c1, zero, scale));
    }
  }
}

template <class Arch, store_mode Mode>
inline void dequantize_gptq_avx2(const std::int32_t* qweight, std::span<const std::int32_t> qzeros,
                                 const fp16* scales, const group_int4::shape& s, int4_packing p, float* w) {
  for (std::size_t o0 = 0; o0 < s.out_features; o0 += 8)
    for (std::size_t g = 0; g < s.groups(); ++g) gptq_tile_avx2<Arch, Mode>(qweight, qzeros, scales, s, p, o0, g, w);
  if constexpr (Mode == store_mode::stream) _mm_sfence();
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

// As dequantize_awq_avx512 with 8 word columns (64 output columns) per tile:
// the group's words transposed 8 x 8 at a time into an L1 buffer, then each
// output row gets its G floats in one run.
template <class Arch, store_mode Mode>
inline void dequantize_awq_avx2(const std::int32_t* qweight, std::span<const std::int32_t> qzeros, const fp16* scales,
                                const group_int4::shape& s, float* w) {
  const std::size_t out = s.out_features, in = s.in_features, words_per_row = out / 8, group = s.group_size;
  const __m256i low4 = _mm256_set1_epi32(15);
  alignas(32) std::int32_t columns[8][128];  // [word column][input in group], G <= 128
  for (std::size_t c0 = 0; c0 < words_per_row; c0 += 8) {
    const std::size_t cols = std::min<std::size_t>(8, words_per_row - c0);
    const __m256i mask =
        _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(cols)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (std::size_t g = 0; g < s.groups(); ++g) {
      for (std::size_t i = 0; i < group; i += 8) {
        __m256i m[8];
        const std::int32_t* src = qweight + (g * group + i) * words_per_row + c0;
        for (std::size_t k = 0; k < 8; ++k) {
          m[k] = _mm256_maskload_epi32(reinterpret_cast<const int*>(src + k * words_per_row), mask);
          prefetch_read<Arch>(src + k * words_per_row, read_ahead_groups * group * words_per_row * 4);
        }
        transpose8x8<Arch>(m);  // m[c]: word column c0 + c of input rows g*G + i .. + 7
        for (std::size_t c = 0; c < 8; ++c) _mm256_store_si256(reinterpret_cast<__m256i*>(&columns[c][i]), m[c]);
      }
      for (std::size_t c = 0; c < cols; ++c)
        for (std::size_t m = 0; m < 8; ++m) {
          const std::size_t o = 8 * (c0 + c) + m;
          const __m128i shift = _mm_cvtsi32_si128(static_cast<int>(4 * group_int4::awq_reverse_order[m]));
          const __m256i zero = _mm256_set1_epi32(group_int4::zero_at(qzeros, int4_packing::awq, s, g, o));
          const __m256 scale = _mm256_set1_ps(qmath::detail::fp16_bits_to_float(scales[g * out + o].bits));
          float* row = w + o * in + g * group;
          for (std::size_t k = 0; k < group; k += 16) {
            const auto* words = reinterpret_cast<const __m256i*>(&columns[c][k]);
            const __m256i c0_codes = _mm256_and_si256(_mm256_srl_epi32(_mm256_load_si256(words), shift), low4);
            const __m256i c1_codes = _mm256_and_si256(_mm256_srl_epi32(_mm256_load_si256(words + 1), shift), low4);
            store8<Arch, Mode>(row + k, scale_codes<Arch>(c0_codes, zero, scale));
            store8<Arch, Mode>(row + k + 8, scale_codes<Arch>(c1_codes, zero, scale));
          }
        }
    }
  }
  if constexpr (Mode == store_mode::stream) _mm_sfence();
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
    auto run = [&]<kernels::int4::store_mode Mode>() {
      if (p == int4_packing::awq)
        kernels::int4::dequantize_awq_avx512<Arch, Mode>(qweight.data(), qzeros, scales.data(), s, w.data());
      else
        kernels::int4::dequantize_gptq_avx512<Arch, Mode>(qweight.data(), qzeros, scales.data(), s, p, w.data());
    };
    switch (kernels::int4::choose_store_mode(w.data(), w.size())) {
      case kernels::int4::store_mode::stream: run.template operator()<kernels::int4::store_mode::stream>(); break;
      case kernels::int4::store_mode::prefetch: run.template operator()<kernels::int4::store_mode::prefetch>(); break;
      case kernels::int4::store_mode::plain: run.template operator()<kernels::int4::store_mode::plain>(); break;
    }
    return;
  }
#endif
#if QMATH_GROUP_INT4_AVX2
  if constexpr (std::is_base_of_v<xsimd::avx2, Arch>) {
    auto run = [&]<kernels::int4::store_mode Mode>() {
      if (p == int4_packing::awq)
        kernels::int4::dequantize_awq_avx2<Arch, Mode>(qweight.data(), qzeros, scales.data(), s, w.data());
      else
        kernels::int4::dequantize_gptq_avx2<Arch, Mode>(qweight.data(), qzeros, scales.data(), s, p, w.data());
    };
    switch (kernels::int4::choose_store_mode(w.data(), w.size())) {
      case kernels::int4::store_mode::stream: run.template operator()<kernels::int4::store_mode::stream>(); break;
      case kernels::int4::store_mode::prefetch: run.template operator()<kernels::int4::store_mode::prefetch>(); break;
      case kernels::int4::store_mode::plain: run.template operator()<kernels::int4::store_mode::plain>(); break;
    }
    return;
  }
#endif
  dequantize_reference(qweight, qzeros, scales, s, p, w);
}

}  // namespace qmath::group_int4

namespace qmath::kernels {

template <format_id Id, std::uint32_t InFeatures, std::uint32_t GroupSize, int4_packing Packing>
struct block_kernel<formats::group_int4_format<Id, InFeatures, GroupSize, Packing>> {
  // api: the call that was made (quantize or dequantize), for the message
  static group_int4::shape shape_of(std::size_t n, const char* api) {
    const group_int4::shape s{n / InFeatures, InFeatures, GroupSize};
    group_int4::check_shape(api, s);
    return s;
  }

  template <class Arch>
  static void quantize(std::span<const float> in, std::span<std::byte> out) {
    if (in.empty()) return;
    const auto s = shape_of(in.size(), "qmath::quantize (group int4)");
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
    const auto s = shape_of(out.size(), "qmath::dequantize (group int4)");
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

#include "qmath/kernels/detail/diagnostics_end.hpp"

#undef QMATH_GROUP_INT4_AVX512
#undef QMATH_GROUP_INT4_AVX2
