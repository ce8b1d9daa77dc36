#pragma once
// SIMD kernels and the public array API of bitsandbytes NF4/FP4
// (formats/bnb_4bit.hpp has the layout, the rules and the scalar reference).
//
//   qmath::bnb::quantize_4bit<Arch>(in, packed, absmax, code, blocksize)
//   qmath::bnb::dequantize_4bit<Arch>(packed, absmax, out, code, blocksize)
//   qmath::bnb::dequantize_4bit_bf16<Arch>(packed, absmax, out_bits, map, blocksize, bf16_subnormals)
//   qmath::bnb::quantize_4bit_dq<Arch>(in, packed, qabsmax, absmax2, offset, code, blocksize)
//   qmath::bnb::dequantize_4bit_dq<Arch>(packed, qabsmax, absmax2, offset, out, code, blocksize)
//   qmath::quantize<formats::nf4>(in, bytes) / qmath::dequantize<formats::nf4>(bytes, out)
//
// Kernels, all bit-identical to the scalar reference:
//   AVX-512F  dequantize: bytes widened to 32-bit lanes, nibbles interleaved with
//             vpermi2d, the 16-entry table looked up with vpermps (it reads only
//             the low 4 index bits); quantize: a 4-step binary search over the
//             pivots with vpermps + compare masks, nibbles packed with vpmovdb,
//             vpmaddubsw and vpackuswb.
//   AVX2      dequantize: two 8-entry vpermps lookups and a blend on index bit 3;
//             quantize: counts the pivots below each value.
//   generic   any other xsimd architecture: vector scaling and absmax, scalar
//             code search and nibble packing.
// Both SIMD dequantizers prefetch their output for writing 1 KiB ahead, or,
// for an output of 16 MiB or more, write it with streaming stores (see
// kernels/detail/stream_store.hpp, shared with the GGUF kernels).
// Blocks are whole; a partial last block (bitsandbytes allows one) runs the
// scalar reference.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "qmath/error.hpp"
#include "qmath/formats/bnb_4bit.hpp"
#include "qmath/fp/bf16.hpp"
#include "qmath/kernels/arch.hpp"
#include "qmath/kernels/detail/stream_store.hpp"
#include "qmath/kernels/quantize.hpp"

#if !QMATH_DISABLE_SIMD && (defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86))
#include <immintrin.h>
#endif

#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX512F
#define QMATH_BNB_AVX512 1
#else
#define QMATH_BNB_AVX512 0
#endif
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
#define QMATH_BNB_AVX2 1
#else
#define QMATH_BNB_AVX2 0
#endif

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels::bnb4 {

// ---------------------------------------------------------------------------
// AVX-512F
#if QMATH_BNB_AVX512
template <class Arch, class Writer>
inline void dequantize_avx512_loop(const std::uint8_t* packed, const float* absmax, Writer& writer, std::size_t blocks,
                                   std::size_t blocksize, const std::array<float, 16>& map) {
  const __m512 lut = _mm512_loadu_ps(map.data());
  // Output lanes 0..15 take (hi0, lo0, hi1, lo1, ...) of bytes 0..7, lanes 16..31 of bytes 8..15;
  // indices >= 16 pick the second source (the bytes themselves, whose low nibble is the odd element).
  const __m512i first = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i second = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  for (std::size_t b = 0; b < blocks; ++b) {
    const __m512 scale = _mm512_set1_ps(absmax[b]);
    const std::uint8_t* src = packed + b * blocksize / 2;
    for (std::size_t i = 0; i < blocksize; i += 32) {
      const __m512i bytes = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i / 2)));
      const __m512i high = _mm512_srli_epi32(bytes, 4);
      const __m512 y0 = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_permutex2var_epi32(high, first, bytes), lut), scale);
      const __m512 y1 = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_permutex2var_epi32(high, second, bytes), lut), scale);
      writer.put(y0);
      writer.put(y1);
    }
  }
}

template <class Arch>
inline void dequantize_avx512(const std::uint8_t* packed, const float* absmax, float* out, std::size_t blocks,
                              std::size_t blocksize, const std::array<float, 16>& map) {
  stream_store::dequantize_to_512<Arch>(out, blocks * blocksize, [&](auto& writer) {
    dequantize_avx512_loop<Arch>(packed, absmax, writer, blocks, blocksize, map);
  });
}

// Nibble of 16 scaled values. NF4: binary search for the number of pivots
// below x (table[c] = pivot c-1); the first step compares with pivot 7 held in
// a register. FP4: the same on |x| over 7 pivots, the rank mapped to FP4 bits,
// then the sign of x < 0.
template <bnb_code Code>
inline __m512i encode_avx512(__m512 scaled, __m512 pivot_table, __m512 first_pivot, __m512i rank_bits) {
  if constexpr (Code == bnb_code::nf4) {
    __m512i idx = _mm512_maskz_mov_epi32(_mm512_cmp_ps_mask(scaled, first_pivot, _CMP_GT_OQ), _mm512_set1_epi32(8));
    for (int step : {4, 2, 1}) {
      const __m512i candidate = _mm512_add_epi32(idx, _mm512_set1_epi32(step));
      const __m512 pivot = _mm512_permutexvar_ps(candidate, pivot_table);
      idx = _mm512_mask_mov_epi32(idx, _mm512_cmp_ps_mask(scaled, pivot, _CMP_GT_OQ), candidate);
    }
    return idx;
  } else {
    const __m512 magnitude = _mm512_castsi512_ps(
        _mm512_and_si512(_mm512_castps_si512(scaled), _mm512_set1_epi32(0x7FFFFFFF)));
    __m512i rank = _mm512_maskz_mov_epi32(_mm512_cmp_ps_mask(magnitude, first_pivot, _CMP_GT_OQ), _mm512_set1_epi32(4));
    for (int step : {2, 1}) {
      const __m512i candidate = _mm512_add_epi32(rank, _mm512_set1_epi32(step));
      const __m512 pivot = _mm512_permutexvar_ps(candidate, pivot_table);
      rank = _mm512_mask_mov_epi32(rank, _mm512_cmp_ps_mask(magnitude, pivot, _CMP_GT_OQ), candidate);
    }
    const __m512i bits = _mm512_permutexvar_epi32(rank, rank_bits);
    const __mmask16 negative = _mm512_cmp_ps_mask(scaled, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_or_epi32(bits, negative, bits, _mm512_set1_epi32(8));
  }
}

// 32 nibbles in 32-bit lanes to 16 bytes: vpmovdb narrows each half to bytes,
// vpmaddubsw forms even * 16 + odd in 16-bit lanes, vpackuswb keeps the bytes.
inline void pack_avx512(__m512i first, __m512i second, std::uint8_t* dst) {
  const __m128i weights = _mm_set1_epi16(0x0110);  // bytes 16, 1
  const __m128i low = _mm_maddubs_epi16(_mm512_cvtepi32_epi8(first), weights);
  const __m128i high = _mm_maddubs_epi16(_mm512_cvtepi32_epi8(second), weights);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm_packus_epi16(low, high));
}

template <class Arch, bnb_code Code>
inline void quantize_avx512(const float* in, std::uint8_t* packed, float* absmax, std::size_t blocks,
                            std::size_t blocksize) {
  alignas(64) std::array<float, 16> table{};
  if constexpr (Code == bnb_code::nf4) {
    for (std::size_t c = 1; c < 16; ++c) table[c] = bnb::nf4_pivots[c - 1];
  } else {
    for (std::size_t c = 1; c < 8; ++c) table[c] = bnb::fp4_pivots[c - 1];
  }
  const __m512 pivot_table = _mm512_load_ps(table.data());
  const __m512 first_pivot = _mm512_set1_ps(Code == bnb_code::nf4 ? bnb::nf4_pivots[7] : bnb::fp4_pivots[3]);
  const __m512i rank_bits = _mm512_setr_epi32(0, 1, 6, 7, 4, 5, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i abs_mask = _mm512_set1_epi32(0x7FFFFFFF);
  const __m512i min_normal = _mm512_set1_epi32(static_cast<int>(bnb::min_normal_bits));
  for (std::size_t b = 0; b < blocks; ++b) {
    const float* src = in + b * blocksize;
    __m512i max_bits = _mm512_setzero_si512();
    for (std::size_t i = 0; i < blocksize; i += 16)
      max_bits = _mm512_max_epu32(max_bits, _mm512_and_si512(_mm512_loadu_si512(src + i), abs_mask));
    const std::uint32_t block_max = _mm512_reduce_max_epu32(max_bits);
    std::uint8_t* dst = packed + b * blocksize / 2;
    if (block_max < bnb::min_normal_bits) {  // the scalar rule: a flushed-zero block is all 0x00
      absmax[b] = bnb::quantize_4bit_block(std::span<const float>(src, blocksize), 0, blocksize, false,
                                           std::span<std::uint8_t>(dst, blocksize / 2), Code, bnb_backend::cuda, b);
      continue;
    }
    QMATH_REQUIRE(block_max < bnb::non_finite_bits, "qmath::bnb::quantize_4bit", "NaN or infinity in block ", b);
    const float block_absmax = qmath::detail::float_from_bits(block_max);
    absmax[b] = block_absmax;
    const __m512 local = _mm512_set1_ps(1.0f / block_absmax);
    // flush(flush(x) * local): subnormal operands and products become +0 (--use_fast_math).
    auto scaled = [&](const float* p) {
      const __m512 x = _mm512_loadu_ps(p);
      const __m512 y = _mm512_mul_ps(
          _mm512_maskz_mov_ps(_mm512_cmpge_epu32_mask(_mm512_and_si512(_mm512_castps_si512(x), abs_mask), min_normal), x),
          local);
      return _mm512_maskz_mov_ps(_mm512_cmpge_epu32_mask(_mm512_and_si512(_mm512_castps_si512(y), abs_mask), min_normal),
                                 y);
    };
    for (std::size_t i = 0; i < blocksize; i += 32)
      pack_avx512(encode_avx512<Code>(scaled(src + i), pivot_table, first_pivot, rank_bits),
                  encode_avx512<Code>(scaled(src + i + 16), pivot_table, first_pivot, rank_bits), dst + i / 2);
  }
}
#endif  // QMATH_BNB_AVX512

// ---------------------------------------------------------------------------
// AVX2
#if QMATH_BNB_AVX2
// 8 table entries for 8 indices: the two halves of the table and a blend on
// index bit 3 (moved to the sign bit, which blendvps reads).
inline __m256 lookup16_avx2(__m256i idx, __m256 lut_low, __m256 lut_high) {
  const __m256 low = _mm256_permutevar8x32_ps(lut_low, idx);
  const __m256 high = _mm256_permutevar8x32_ps(lut_high, idx);
  return _mm256_blendv_ps(low, high, _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28)));
}

template <class Arch, class Writer>
inline void dequantize_avx2_loop(const std::uint8_t* packed, const float* absmax, Writer& writer, std::size_t blocks,
                                 std::size_t blocksize, const std::array<float, 16>& map) {
  const __m256 lut_low = _mm256_loadu_ps(map.data());
  const __m256 lut_high = _mm256_loadu_ps(map.data() + 8);
  // Lanes hold (b0, b0, b1, b1, ...): shift the even ones right by 4 for the high nibble.
  const __m256i shifts = _mm256_setr_epi32(4, 0, 4, 0, 4, 0, 4, 0);
  for (std::size_t b = 0; b < blocks; ++b) {
    const __m256 scale = _mm256_set1_ps(absmax[b]);
    const std::uint8_t* src = packed + b * blocksize / 2;
    for (std::size_t i = 0; i < blocksize; i += 16) {
      const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + i / 2));
      const __m128i doubled = _mm_unpacklo_epi8(bytes, bytes);
      const __m256i idx0 = _mm256_srlv_epi32(_mm256_cvtepu8_epi32(doubled), shifts);
      const __m256i idx1 = _mm256_srlv_epi32(_mm256_cvtepu8_epi32(_mm_unpackhi_epi64(doubled, doubled)), shifts);
      const __m256 y0 = _mm256_mul_ps(lookup16_avx2(idx0, lut_low, lut_high), scale);
      const __m256 y1 = _mm256_mul_ps(lookup16_avx2(idx1, lut_low, lut_high), scale);
      writer.put(y0, y1);
    }
  }
}

template <class Arch>
inline void dequantize_avx2(const std::uint8_t* packed, const float* absmax, float* out, std::size_t blocks,
                            std::size_t blocksize, const std::array<float, 16>& map) {
  stream_store::dequantize_to_256<Arch>(out, blocks * blocksize, [&](auto& writer) {
    dequantize_avx2_loop<Arch>(packed, absmax, writer, blocks, blocksize, map);
  });
}

template <bnb_code Code>
inline __m256i encode_avx2(__m256 scaled) {
  if constexpr (Code == bnb_code::nf4) {
    __m256i count = _mm256_setzero_si256();  // subtracting the all-ones compare result counts
    for (float pivot : bnb::nf4_pivots)
      count = _mm256_sub_epi32(count, _mm256_castps_si256(_mm256_cmp_ps(scaled, _mm256_set1_ps(pivot), _CMP_GT_OQ)));
    return count;
  } else {
    const __m256 magnitude = _mm256_castsi256_ps(
        _mm256_and_si256(_mm256_castps_si256(scaled), _mm256_set1_epi32(0x7FFFFFFF)));
    __m256i rank = _mm256_setzero_si256();
    for (float pivot : bnb::fp4_pivots)
      rank = _mm256_sub_epi32(rank, _mm256_castps_si256(_mm256_cmp_ps(magnitude, _mm256_set1_ps(pivot), _CMP_GT_OQ)));
    const __m256i bits = _mm256_permutevar8x32_epi32(_mm256_setr_epi32(0, 1, 6, 7, 4, 5, 2, 3), rank);
    const __m256i negative = _mm256_castps_si256(_mm256_cmp_ps(scaled, _mm256_setzero_ps(), _CMP_LT_OQ));
    return _mm256_or_si256(bits, _mm256_and_si256(negative, _mm256_set1_epi32(8)));
  }
}

// 8 nibbles in 32-bit lanes to 4 bytes (see pack_avx512), then bytes 0 and 8 of
// each 128-bit lane gathered into one 32-bit word.
inline void pack_avx2(__m256i nibbles, std::uint8_t* dst) {
  const __m256i pairs = _mm256_or_si256(_mm256_slli_epi64(nibbles, 4), _mm256_srli_epi64(nibbles, 32));
  const __m256i gather = _mm256_setr_epi8(0, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,  //
                                          -1, -1, 0, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m256i bytes = _mm256_shuffle_epi8(pairs, gather);
  const __m128i word = _mm_or_si128(_mm256_castsi256_si128(bytes), _mm256_extracti128_si256(bytes, 1));
  const std::int32_t value = _mm_cvtsi128_si32(word);
  std::memcpy(dst, &value, 4);
}

template <class Arch, bnb_code Code>
inline void quantize_avx2(const float* in, std::uint8_t* packed, float* absmax, std::size_t blocks,
                          std::size_t blocksize) {
  const __m256i abs_mask = _mm256_set1_epi32(0x7FFFFFFF);
  for (std::size_t b = 0; b < blocks; ++b) {
    const float* src = in + b * blocksize;
    __m256i max_bits = _mm256_setzero_si256();
    for (std::size_t i = 0; i < blocksize; i += 8)
      max_bits = _mm256_max_epu32(
          max_bits, _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i)), abs_mask));
    alignas(32) std::uint32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), max_bits);
    const std::uint32_t block_max = *std::max_element(lanes, lanes + 8);
    std::uint8_t* dst = packed + b * blocksize / 2;
    if (block_max < bnb::min_normal_bits) {  // the scalar rule: a flushed-zero block is all 0x00
      absmax[b] = bnb::quantize_4bit_block(std::span<const float>(src, blocksize), 0, blocksize, false,
                                           std::span<std::uint8_t>(dst, blocksize / 2), Code, bnb_backend::cuda, b);
      continue;
    }
    QMATH_REQUIRE(block_max < bnb::non_finite_bits, "qmath::bnb::quantize_4bit", "NaN or infinity in block ", b);
    const float block_absmax = qmath::detail::float_from_bits(block_max);
    absmax[b] = block_absmax;
    const __m256 local = _mm256_set1_ps(1.0f / block_absmax);
    // flush(flush(x) * local): a lane is kept where |bits| > min_normal - 1 (signed compare; |bits| < 2^31).
    const __m256i below = _mm256_set1_epi32(static_cast<int>(bnb::min_normal_bits) - 1);
    auto flush = [&](__m256 v) {
      const __m256i keep = _mm256_cmpgt_epi32(_mm256_and_si256(_mm256_castps_si256(v), abs_mask), below);
      return _mm256_and_ps(v, _mm256_castsi256_ps(keep));
    };
    for (std::size_t i = 0; i < blocksize; i += 8)
      pack_avx2(encode_avx2<Code>(flush(_mm256_mul_ps(flush(_mm256_loadu_ps(src + i)), local))), dst + i / 2);
  }
}
#endif  // QMATH_BNB_AVX2

// ---------------------------------------------------------------------------
// Generic xsimd: vector scaling, scalar code search and nibble packing. The
// blocksize (>= 32, a power of two) is a multiple of every lane count (<= 16).
#if !QMATH_DISABLE_SIMD
template <class Arch>
inline void dequantize_generic(const std::uint8_t* packed, const float* absmax, float* out, std::size_t blocks,
                               std::size_t blocksize, const std::array<float, 16>& map) {
  using batch = xsimd::batch<float, Arch>;
  constexpr std::size_t lanes = batch::size;
  static_assert(32 % lanes == 0);
  alignas(Arch::alignment()) float codes[lanes];
  for (std::size_t b = 0; b < blocks; ++b) {
    const batch scale(absmax[b]);
    const std::uint8_t* src = packed + b * blocksize / 2;
    float* dst = out + b * blocksize;
    for (std::size_t i = 0; i < blocksize; i += lanes) {
      for (std::size_t k = 0; k < lanes; ++k) {
        const std::uint8_t byte = src[(i + k) / 2];
        codes[k] = map[((i + k) % 2 == 0) ? byte >> 4 : byte & 15];
      }
      (batch::load_aligned(codes) * scale).store_unaligned(dst + i);
    }
  }
}

template <class Arch, bnb_code Code>
inline void quantize_generic(const float* in, std::uint8_t* packed, float* absmax, std::size_t blocks,
                             std::size_t blocksize) {
  using batch = xsimd::batch<float, Arch>;
  using ubatch = xsimd::batch<std::uint32_t, Arch>;
  constexpr std::size_t lanes = batch::size;
  alignas(Arch::alignment()) float scaled[lanes];
  for (std::size_t b = 0; b < blocks; ++b) {
    const float* src = in + b * blocksize;
    std::uint32_t block_max = 0;
    ubatch max_bits(0u);
    for (std::size_t i = 0; i < blocksize; i += lanes)  // blocksize is a multiple of lanes
      max_bits = xsimd::max(max_bits, ubatch::load_unaligned(reinterpret_cast<const std::uint32_t*>(src + i)) &
                                          ubatch(0x7FFFFFFFu));
    alignas(Arch::alignment()) std::uint32_t words[lanes];
    max_bits.store_aligned(words);
    for (std::uint32_t w : words) block_max = std::max(block_max, w);
    std::uint8_t* dst = packed + b * blocksize / 2;
    if (block_max < bnb::min_normal_bits) {  // the scalar rule: a flushed-zero block is all 0x00
      absmax[b] = bnb::quantize_4bit_block(std::span<const float>(src, blocksize), 0, blocksize, false,
                                           std::span<std::uint8_t>(dst, blocksize / 2), Code, bnb_backend::cuda, b);
      continue;
    }
    QMATH_REQUIRE(block_max < bnb::non_finite_bits, "qmath::bnb::quantize_4bit", "NaN or infinity in block ", b);
    const float block_absmax = qmath::detail::float_from_bits(block_max);
    absmax[b] = block_absmax;
    const float local = 1.0f / block_absmax;
    for (std::size_t i = 0; i < blocksize; i += lanes) {
      for (std::size_t k = 0; k < lanes; ++k) scaled[k] = bnb::flush_subnormal(src[i + k]);
      (batch::load_aligned(scaled) * batch(local)).store_aligned(scaled);
      for (std::size_t k = 0; k < lanes; k += 2)
        dst[(i + k) / 2] = static_cast<std::uint8_t>(bnb::encode(Code, bnb::flush_subnormal(scaled[k])) << 4 |
                                                     bnb::encode(Code, bnb::flush_subnormal(scaled[k + 1])));
    }
  }
}
#endif

// Whole blocks only; sizes checked by the caller.
template <class Arch>
inline void dequantize_blocks(const std::uint8_t* packed, const float* absmax, float* out, std::size_t blocks,
                              std::size_t blocksize, const std::array<float, 16>& map) {
#if QMATH_BNB_AVX512
  if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
    dequantize_avx512<Arch>(packed, absmax, out, blocks, blocksize, map);
  } else
#endif
#if QMATH_BNB_AVX2
  if constexpr (std::is_base_of_v<xsimd::avx2, Arch>) {
    dequantize_avx2<Arch>(packed, absmax, out, blocks, blocksize, map);
  } else
#endif
  if constexpr (is_scalar_arch<Arch>) {
    const std::size_t n = blocks * blocksize;
    bnb::dequantize_4bit_reference(std::span<const std::uint8_t>(packed, n / 2), std::span<const float>(absmax, blocks),
                                   std::span<float>(out, n), map, blocksize);
  } else {
#if !QMATH_DISABLE_SIMD
    dequantize_generic<Arch>(packed, absmax, out, blocks, blocksize, map);
#endif
  }
}

template <class Arch>
inline void quantize_blocks(const float* in, std::uint8_t* packed, float* absmax, std::size_t blocks,
                            std::size_t blocksize, bnb_code code, bnb_backend backend) {
  if (backend == bnb_backend::cpu) {  // the CPU rule runs the scalar reference
    const std::size_t n = blocks * blocksize;
    bnb::quantize_4bit_reference(std::span<const float>(in, n), std::span<std::uint8_t>(packed, n / 2),
                                 std::span<float>(absmax, blocks), code, blocksize, backend);
    return;
  }
  auto run = [&]<bnb_code Code>() {
#if QMATH_BNB_AVX512
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
      quantize_avx512<Arch, Code>(in, packed, absmax, blocks, blocksize);
    } else
#endif
#if QMATH_BNB_AVX2
    if constexpr (std::is_base_of_v<xsimd::avx2, Arch>) {
      quantize_avx2<Arch, Code>(in, packed, absmax, blocks, blocksize);
    } else
#endif
    if constexpr (is_scalar_arch<Arch>) {
      const std::size_t n = blocks * blocksize;
      bnb::quantize_4bit_reference(std::span<const float>(in, n), std::span<std::uint8_t>(packed, n / 2),
                                   std::span<float>(absmax, blocks), Code, blocksize, bnb_backend::cuda);
    } else {
#if !QMATH_DISABLE_SIMD
      quantize_generic<Arch, Code>(in, packed, absmax, blocks, blocksize);
#endif
    }
  };
  if (code == bnb_code::nf4)
    run.template operator()<bnb_code::nf4>();
  else
    run.template operator()<bnb_code::fp4>();
}

}  // namespace qmath::kernels::bnb4

namespace qmath::bnb {

// Quantizes `in` as bitsandbytes' quantize_4bit does: packed has (n+1)/2 bytes,
// absmax ceil(n/blocksize) floats; `backend` picks the GPU kernel's bytes (the
// default) or the CPU's (formats/bnb_4bit.hpp). Throws qmath::error on a size
// mismatch or a blocksize that is not a power of two in [32, 4096] (before
// writing), and on NaN or infinity (the outputs are then partly written).
template <class Arch = default_arch>
void quantize_4bit(std::span<const float> in, std::span<std::uint8_t> packed, std::span<float> absmax, bnb_code code,
                   std::size_t blocksize = 64, bnb_backend backend = bnb_backend::cuda) {
  check_4bit_sizes("qmath::bnb::quantize_4bit", in.size(), packed.size(), absmax.size(), blocksize);
  const std::size_t full = in.size() / blocksize;
  kernels::bnb4::quantize_blocks<Arch>(in.data(), packed.data(), absmax.data(), full, blocksize, code, backend);
  if (in.size() % blocksize != 0)
    absmax[full] = quantize_4bit_block(in, full * blocksize, in.size(), true, packed, code, backend, full);
}

// y = map[nibble] * absmax[block]; `map` defaults to bitsandbytes' table for `code`.
template <class Arch = default_arch>
void dequantize_4bit(std::span<const std::uint8_t> packed, std::span<const float> absmax, std::span<float> out,
                     const std::array<float, 16>& map, std::size_t blocksize = 64) {
  check_4bit_sizes("qmath::bnb::dequantize_4bit", out.size(), packed.size(), absmax.size(), blocksize);
  const std::size_t full = out.size() / blocksize;
  kernels::bnb4::dequantize_blocks<Arch>(packed.data(), absmax.data(), out.data(), full, blocksize, map);
  if (out.size() % blocksize != 0)
    dequantize_4bit_reference(packed.subspan(full * blocksize / 2), absmax.subspan(full), out.subspan(full * blocksize),
                              map, blocksize);
}

template <class Arch = default_arch>
void dequantize_4bit(std::span<const std::uint8_t> packed, std::span<const float> absmax, std::span<float> out,
                     bnb_code code, std::size_t blocksize = 64) {
  dequantize_4bit<Arch>(packed, absmax, out, quant_map(code), blocksize);
}

// bf16 output. bitsandbytes writes bf16 through three conversions: torch's
// .to(bfloat16) (its default backend, blocksize >= 2048 or an odd last
// dimension) and CUDA's __float2bfloat16 round every value to nearest even;
// its native CPU dequantizer (csrc/cpu_ops.cpp, blocksize < 2048 and an even
// last dimension) converts with AVX512-BF16's vcvtneps2bf16 where the CPU has
// it, which treats a subnormal float as zero: the result is a signed zero.
enum class bf16_subnormals : std::uint8_t {
  keep,   // round to nearest even like every other value (the default)
  flush,  // a result below 2^-126 becomes a zero of its sign
};

constexpr std::uint16_t to_bf16(float y, bf16_subnormals rule) noexcept {
  const std::uint32_t bits = qmath::detail::float_bits(y);
  if (rule == bf16_subnormals::flush && (bits & 0x7F800000u) == 0) return static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  return qmath::detail::bf16_bits_from_float(y);
}

// y = map[nibble] * absmax[block] as bf16 bits: the float product, then `rule`.
template <class Arch = default_arch>
void dequantize_4bit_bf16(std::span<const std::uint8_t> packed, std::span<const float> absmax,
                          std::span<std::uint16_t> out, const std::array<float, 16>& map, std::size_t blocksize = 64,
                          bf16_subnormals rule = bf16_subnormals::keep) {
  check_4bit_sizes("qmath::bnb::dequantize_4bit_bf16", out.size(), packed.size(), absmax.size(), blocksize);
  // Whole blocks at a time through a float buffer of at least 8 Ki values.
  const std::size_t chunk = std::max<std::size_t>(1, 8192 / blocksize) * blocksize;
  std::vector<float> buffer(std::min(chunk, out.size()));
  for (std::size_t begin = 0; begin < out.size(); begin += chunk) {
    const std::size_t len = std::min(chunk, out.size() - begin);
    const std::span<float> y(buffer.data(), len);
    dequantize_4bit<Arch>(packed.subspan(begin / 2, ceil_div(len, 2)), absmax.subspan(begin / blocksize, ceil_div(len, blocksize)),
                          y, map, blocksize);
    for (std::size_t i = 0; i < len; ++i) out[begin + i] = to_bf16(y[i], rule);
  }
}

// Double quantization (formats/bnb_blockwise.hpp): the 4-bit codes as
// quantize_4bit, and absmax stored as qabsmax (uint8 per block, the dynamic
// map) with absmax2 (fp32 per 256 blocks) and `offset` = torch's float32
// mean(absmax); options.backend picks both quantizers' rule.
template <class Arch = default_arch>
void quantize_4bit_dq(std::span<const float> in, std::span<std::uint8_t> packed, std::span<std::uint8_t> qabsmax,
                      std::span<float> absmax2, float& offset, bnb_code code, std::size_t blocksize = 64,
                      const std::array<float, 256>& code_table = dynamic_map, dq_options options = {}) {
  const std::size_t blocks = valid_blocksize(blocksize) ? ceil_div(in.size(), blocksize) : 0;
  check_4bit_sizes("qmath::bnb::quantize_4bit_dq", in.size(), packed.size(), blocks, blocksize);
  QMATH_REQUIRE(qabsmax.size() == blocks, "qmath::bnb::quantize_4bit_dq", blocks, " blocks need ", blocks,
                " qabsmax bytes, got ", qabsmax.size());
  QMATH_REQUIRE(absmax2.size() == ceil_div(blocks, dq_blocksize), "qmath::bnb::quantize_4bit_dq", blocks,
                " blocks need ", ceil_div(blocks, dq_blocksize), " absmax2 values, got ", absmax2.size());
  std::vector<float> absmax(blocks);
  quantize_4bit<Arch>(in, packed, absmax, code, blocksize, options.backend);
  offset = compress_absmax_reference(absmax, qabsmax, absmax2, code_table, options);
}

template <class Arch = default_arch>
void dequantize_4bit_dq(std::span<const std::uint8_t> packed, std::span<const std::uint8_t> qabsmax,
                        std::span<const float> absmax2, float offset, std::span<float> out,
                        const std::array<float, 16>& map, std::size_t blocksize = 64,
                        const std::array<float, 256>& code_table = dynamic_map) {
  const std::size_t blocks = valid_blocksize(blocksize) ? ceil_div(out.size(), blocksize) : 0;
  check_4bit_sizes("qmath::bnb::dequantize_4bit_dq", out.size(), packed.size(), blocks, blocksize);
  QMATH_REQUIRE(qabsmax.size() == blocks, "qmath::bnb::dequantize_4bit_dq", blocks, " blocks need ", blocks,
                " qabsmax bytes, got ", qabsmax.size());
  QMATH_REQUIRE(absmax2.size() == ceil_div(blocks, dq_blocksize), "qmath::bnb::dequantize_4bit_dq",
                blocks, " blocks need ", ceil_div(blocks, dq_blocksize), " absmax2 values, got ",
                absmax2.size());
  std::vector<float> absmax(blocks);
  for (std::size_t b = 0; b < blocks; ++b)
    absmax[b] = restore_absmax(code_table, qabsmax[b], absmax2[b / dq_blocksize], offset);
  dequantize_4bit<Arch>(packed, absmax, out, map, blocksize);
}

template <class Arch = default_arch>
void dequantize_4bit_dq(std::span<const std::uint8_t> packed, std::span<const std::uint8_t> qabsmax,
                        std::span<const float> absmax2, float offset, std::span<float> out, bnb_code code,
                        std::size_t blocksize = 64) {
  dequantize_4bit_dq<Arch>(packed, qabsmax, absmax2, offset, out, quant_map(code), blocksize);
}

}  // namespace qmath::bnb

namespace qmath::kernels {

// The self-contained qmath buffer of formats::bnb_4bit (layout in formats/bnb_4bit.hpp).
template <bnb_code Code, std::uint32_t Blocksize, bool DoubleQuant>
struct block_kernel<formats::bnb_4bit<Code, Blocksize, DoubleQuant>> {
  using format = formats::bnb_4bit<Code, Blocksize, DoubleQuant>;

  template <class Arch>
  static void quantize(std::span<const float> in, std::span<std::byte> out) {
    if (in.empty()) return;
    const auto l = format::layout_for(in.size());
    auto* base = reinterpret_cast<std::uint8_t*>(out.data());
    const std::span<std::uint8_t> packed(base, in.size() / 2);
    if constexpr (DoubleQuant) {
      std::vector<float> absmax2(l.groups);
      float offset = 0.0f;
      bnb::quantize_4bit_dq<Arch>(in, packed, std::span<std::uint8_t>(base + l.scales, l.blocks), absmax2, offset, Code,
                                  Blocksize);
      std::memcpy(base + l.absmax2, absmax2.data(), 4 * l.groups);
      std::memcpy(base + l.offset, &offset, 4);
      std::memcpy(base + l.code_table, bnb::dynamic_map.data(), 256 * 4);
    } else {
      std::vector<float> absmax(l.blocks);
      bnb::quantize_4bit<Arch>(in, packed, absmax, Code, Blocksize);
      std::memcpy(base + l.scales, absmax.data(), 4 * l.blocks);
    }
    std::memcpy(base + l.quant_map, bnb::quant_map(Code).data(), 16 * 4);
  }

  // Uses the tables stored in the buffer, so data written with another code
  // table (another torch version's dynamic map) decodes as it was written.
  template <class Arch>
  static void dequantize(std::span<const std::byte> in, std::span<float> out) {
    if (out.empty()) return;
    const auto l = format::layout_for(out.size());
    const auto* base = reinterpret_cast<const std::uint8_t*>(in.data());
    std::array<float, 16> map{};
    std::memcpy(map.data(), base + l.quant_map, 16 * 4);
    const std::span<const std::uint8_t> packed(base, out.size() / 2);
    if constexpr (DoubleQuant) {
      std::array<float, 256> table{};
      std::memcpy(table.data(), base + l.code_table, 256 * 4);
      std::vector<float> absmax2(l.groups);
      std::memcpy(absmax2.data(), base + l.absmax2, 4 * l.groups);
      float offset = 0.0f;
      std::memcpy(&offset, base + l.offset, 4);
      bnb::dequantize_4bit_dq<Arch>(packed, std::span<const std::uint8_t>(base + l.scales, l.blocks), absmax2, offset,
                                    out, map, Blocksize, table);
    } else {
      std::vector<float> absmax(l.blocks);
      std::memcpy(absmax.data(), base + l.scales, 4 * l.blocks);
      bnb::dequantize_4bit<Arch>(packed, absmax, out, map, Blocksize);
    }
  }
};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"

#undef QMATH_BNB_AVX512
#undef QMATH_BNB_AVX2
