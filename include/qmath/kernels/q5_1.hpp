#pragma once
// Q5_1 array kernels: qmath::quantize<formats::q5_1, Arch> / dequantize.
// Every path writes the bytes and floats of the scalar reference
// (formats/q5_1.hpp). Quantization follows kernels/q4_1.hpp: NaN is caught
// with an unordered compare (or an integer max of |x| bits) and Inf by the
// block min / max; a block whose min or max is zero goes through the scalar
// reference (the sign of a zero min is stored, and the reference keeps the
// first zero it meets), as do blocks whose d or 1/d is not finite.
// d = (max - min) / 31; (x - min)*id is rounded on its own before + 0.5 and
// truncated like the C cast (no clamp, as in ggml quantize_row_q5_1_ref: the
// value stays below 32). Bit 4 of each code goes to qh (bit i for element i),
// read with one bit test per 16 lanes (AVX-512) or a movemask per 8 lanes
// (AVX2). AVX-512 quantizes groups of 16 blocks: their minima and maxima come
// from two transposed reductions (gguf_simd::reduce_16_vectors), d, 1/d and
// the fp16 conversions from one vector operation each.
// Dequantization (AVX-512BW): the 5-bit code is the nibble of qs with bit j
// (low half) or bit j + 16 (high half) of qh as its fifth bit, added as a
// masked OR from qh used directly as two 16-lane masks; y = q*d + m, the
// product rounded on its own.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "qmath/formats/q5_1.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/detail/gguf_simd.hpp"
#include "qmath/kernels/quantize.hpp"

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::q5_1> {
  using F = formats::q5_1;
  static constexpr std::size_t block_bytes = sizeof(F::block);

  template <class Arch>
  static void quantize(std::span<const float> in, std::span<std::byte> out) {
    const std::size_t blocks = in.size() / 32;
    constexpr auto path = gguf_simd::path_of<Arch>();
    if constexpr (path == gguf_simd::path::reference) {
      detail::reference_quantize_blocks<F>(in, out, 0, blocks);
    }
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX512BW
    else if constexpr (path == gguf_simd::path::avx512bw) {
      const __m512 bias = _mm512_set1_ps(0.5f);
      const __m512i low_nibble = _mm512_set1_epi32(0x0f);
      const __m512i fifth_bit = _mm512_set1_epi32(0x10);
      // The codes of one block from its d bits, min bits, min and 1/d.
      const auto encode_block = [&](std::size_t b, std::uint16_t d_bits, std::uint16_t m_bits, float min, float id) {
        const float* x = in.data() + b * 32;
        std::byte* dst = out.data() + b * block_bytes;
        const __m512 vid = _mm512_set1_ps(id), vmin = _mm512_set1_ps(min);
        const auto codes = [&](__m512 v) {
          return _mm512_cvttps_epi32(
              _mm512_add_ps(gguf_simd::no_contract<Arch>(_mm512_mul_ps(_mm512_sub_ps(v, vmin), vid)), bias));
        };
        const __m512i q0 = codes(_mm512_loadu_ps(x)), q1 = codes(_mm512_loadu_ps(x + 16));
        // qh as little-endian bytes: element i's fifth bit is bit i.
        const std::uint16_t header[4] = {d_bits, m_bits,
                                         static_cast<std::uint16_t>(_mm512_test_epi32_mask(q0, fifth_bit)),
                                         static_cast<std::uint16_t>(_mm512_test_epi32_mask(q1, fifth_bit))};
        std::memcpy(dst, header, 8);
        gguf_simd::store_nibbles<Arch>(_mm512_and_si512(q0, low_nibble), _mm512_and_si512(q1, low_nibble), dst + 8);
      };
      gguf_simd::quantize_asymmetric_blocks<F, Arch>(in, out, 31.0f, encode_block);
    }
#endif
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
    else if constexpr (path == gguf_simd::path::avx2) {
      const __m256 bias = _mm256_set1_ps(0.5f);
      const __m256i low_nibble = _mm256_set1_epi32(0x0f);
      for (std::size_t b = 0; b < blocks; ++b) {
        const float* x = in.data() + b * 32;
        std::byte* dst = out.data() + b * block_bytes;
        const __m256 xs[4] = {_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8), _mm256_loadu_ps(x + 16),
                              _mm256_loadu_ps(x + 24)};
        float min, max;
        gguf_simd::block_min_max<F, Arch>(in, b, xs, min, max);
        const auto [d, id, to_reference] = gguf_simd::asymmetric_scale_of(min, max, 31.0f);
        if (to_reference) {
          gguf_simd::reference_block<F>(in, out, b);
          continue;
        }
        const __m256 vid = _mm256_set1_ps(id), vmin = _mm256_set1_ps(min);
        __m256i q[4];
        std::uint32_t qh = 0;
        for (int k = 0; k < 4; ++k) {
          q[k] = _mm256_cvttps_epi32(
              _mm256_add_ps(gguf_simd::no_contract<Arch>(_mm256_mul_ps(_mm256_sub_ps(xs[k], vmin), vid)), bias));
          // Bit 4 moved to the sign bit: one movemask gives the 8 elements' fifth bits.
          qh |= static_cast<std::uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_slli_epi32(q[k], 27))))
                << (8 * k);
          q[k] = _mm256_and_si256(q[k], low_nibble);
        }
        const std::uint16_t dm_bits[2] = {gguf_simd::float_to_half<Arch>(d), gguf_simd::float_to_half<Arch>(min)};
        std::memcpy(dst, dm_bits, 4);
        std::memcpy(dst + 4, &qh, 4);  // little-endian, as ggml's memcpy(x[i].qh, &qh, sizeof(qh))
        gguf_simd::store_nibbles<Arch>(q, dst + 8);
      }
    }
#endif
  }

  template <class Arch>
  static void dequantize(std::span<const std::byte> in, std::span<float> out) {
    const std::size_t blocks = out.size() / 32;
    constexpr auto path = gguf_simd::path_of<Arch>();
    if constexpr (path != gguf_simd::path::avx512bw) {
      detail::reference_dequantize_blocks<F>(in, out, 0, blocks);
    }
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX512BW
    else {
      const __m512i sixteen = _mm512_set1_epi32(16);  // the fifth bit
      stream_store::dequantize_to_512<Arch>(out.data(), out.size(), [&](auto& writer) {
        for (std::size_t b = 0; b < blocks; ++b) {
          const std::byte* src = in.data() + b * block_bytes;
          std::uint16_t d_bits;
          std::memcpy(&d_bits, src, 2);
            std::uint16_t m_bits;
            std::memcpy(&m_bits, src + 2, 2);
            const __m512 d = _mm512_set1_ps(gguf_simd::half_to_float<Arch>(d_bits));
            const __m512 m = _mm512_set1_ps(gguf_simd::half_to_float<Arch>(m_bits));
          std::uint32_t qh;  // little-endian bytes qh[0..3] (ggml: memcpy(&qh, x[i].qh, sizeof(qh)))
          std::memcpy(&qh, src + 4, 4);
          __m512i lo, hi;
          gguf_simd::load_nibbles<Arch>(src + 4 + 4, lo, hi);
          lo = _mm512_mask_or_epi32(lo, static_cast<__mmask16>(qh & 0xffffu), lo, sixteen);
          hi = _mm512_mask_or_epi32(hi, static_cast<__mmask16>(qh >> 16), hi, sixteen);
          const auto value = [&](__m512i q) { return _mm512_add_ps(gguf_simd::no_contract<Arch>(_mm512_mul_ps(_mm512_cvtepi32_ps(q), d)), m); };
          writer.put(value(lo));
          writer.put(value(hi));
        }
      });
    }
#endif
  }
};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
