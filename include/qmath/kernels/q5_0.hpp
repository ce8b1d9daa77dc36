#pragma once
// Q5_0 array kernels: qmath::quantize<formats::q5_0, Arch> / dequantize.
// Every path writes the bytes and floats of the scalar reference
// (formats/q5_0.hpp). Quantization follows kernels/q4_0.hpp: the block's
// extreme value from an integer max of the |x| bit patterns (exact, and it
// flags NaN / Inf) and the first lane that holds it; d = max / -16 and 1/d
// as the reference's scalar divisions; x*id rounded on its own before + 16.5,
// truncated like the C cast and clamped to 31. Bit 4 of each code goes to qh
// (bit i for element i, ggml quantize_row_q5_0_ref), read with one bit test
// per 16 lanes (AVX-512) or a movemask per 8 lanes (AVX2); the low nibbles
// are packed as in Q4_0. Blocks whose 1/d overflows go through the scalar
// reference. AVX-512 takes groups of 16 blocks: their largest |x| from one
// transposed reduction (gguf_simd::reduce_16_vectors), d, 1/d and fp16(d)
// from one vector operation each.
// Dequantization (AVX-512BW): the 5-bit code is the nibble of qs with bit j
// (low half) or bit j + 16 (high half) of qh as its fifth bit, added as a
// masked OR from qh used directly as two 16-lane masks; y = (q - 16) * d.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "qmath/formats/q5_0.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/detail/gguf_simd.hpp"
#include "qmath/kernels/quantize.hpp"

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::q5_0> {
  using F = formats::q5_0;
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
      const __m512 bias = _mm512_set1_ps(16.5f);
      const __m512i top = _mm512_set1_epi32(31);
      const __m512i low_nibble = _mm512_set1_epi32(0x0f);
      const __m512i fifth_bit = _mm512_set1_epi32(0x10);
      // The codes of block b from its fp16 d bits and 1/d.
      const auto encode_block = [&](std::size_t b, std::uint16_t d_bits, float id) {
        const float* x = in.data() + b * 32;
        std::byte* dst = out.data() + b * block_bytes;
        const __m512 vid = _mm512_set1_ps(id);
        const auto codes = [&](__m512 v) {
          return _mm512_min_epi32(
              _mm512_cvttps_epi32(_mm512_add_ps(gguf_simd::no_contract<Arch>(_mm512_mul_ps(v, vid)), bias)), top);
        };
        const __m512i q0 = codes(_mm512_loadu_ps(x)), q1 = codes(_mm512_loadu_ps(x + 16));
        // qh as little-endian bytes: element i's fifth bit is bit i.
        const std::uint16_t header[3] = {d_bits, static_cast<std::uint16_t>(_mm512_test_epi32_mask(q0, fifth_bit)),
                                         static_cast<std::uint16_t>(_mm512_test_epi32_mask(q1, fifth_bit))};
        std::memcpy(dst, header, 6);
        gguf_simd::store_nibbles<Arch>(_mm512_and_si512(q0, low_nibble), _mm512_and_si512(q1, low_nibble), dst + 6);
      };
      std::size_t b = 0;
      // Groups of 16 blocks: the 16 largest |x| from one transposed reduction;
      // d = max / -16, 1/d and fp16(d) from one vector operation each (the
      // reference's IEEE operations).
      for (; b + 16 <= blocks; b += 16) {
        const float* xg = in.data() + b * 32;
        alignas(64) std::uint32_t amax_bits[16];
        const __m512i amax = gguf_simd::max_abs_bits_16_blocks<Arch>(xg);
        if (_mm512_reduce_max_epu32(amax) >= gguf_simd::non_finite_bits) gguf_simd::reject_first_bad_block<F>(in, b, 16);
        _mm512_store_si512(amax_bits, amax);
        alignas(64) float maxs[16];
        for (unsigned g = 0; g < 16; ++g) {
          const float* x = xg + 32 * g;
          maxs[g] = amax_bits[g] == 0 ? 0.0f
                                      : x[gguf_simd::first_with_abs_bits<Arch>(_mm512_loadu_ps(x), _mm512_loadu_ps(x + 16),
                                                                               amax_bits[g])];
        }
        const __m512 d = _mm512_div_ps(_mm512_load_ps(maxs), _mm512_set1_ps(-16.0f));
        const __m512 id = _mm512_maskz_div_ps(_mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_NEQ_OQ),
                                              _mm512_set1_ps(1.0f), d);
        alignas(64) float ids[16];
        alignas(32) std::uint16_t d_bits[16];
        _mm512_store_ps(ids, id);
        _mm256_store_si256(reinterpret_cast<__m256i*>(d_bits), _mm512_cvtps_ph(d, 0));  // 0: nearest even
        for (unsigned g = 0; g < 16; ++g) {
          if (detail::gguf::is_finite(ids[g]))
            encode_block(b + g, d_bits[g], ids[g]);
          else
            gguf_simd::reference_block<F>(in, out, b + g);
        }
      }
      for (; b < blocks; ++b) {
        const float* x = in.data() + b * 32;
        const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
        const std::uint32_t amax_bits = gguf_simd::max_abs_bits<Arch>(x0, x1);
        if (amax_bits >= gguf_simd::non_finite_bits) gguf_simd::reject_block<F>(in, b);
        const float max = amax_bits == 0 ? 0.0f : x[gguf_simd::first_with_abs_bits<Arch>(x0, x1, amax_bits)];
        const float d = max / -16;
        const float id = detail::gguf::inverse_or_zero(d);
        if (!detail::gguf::is_finite(id)) {
          gguf_simd::reference_block<F>(in, out, b);
          continue;
        }
        encode_block(b, gguf_simd::float_to_half<Arch>(d), id);
      }
    }
#endif
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
    else if constexpr (path == gguf_simd::path::avx2) {
      const __m256 bias = _mm256_set1_ps(16.5f);
      const __m256i top = _mm256_set1_epi32(31);
      const __m256i low_nibble = _mm256_set1_epi32(0x0f);
      for (std::size_t b = 0; b < blocks; ++b) {
        const float* x = in.data() + b * 32;
        std::byte* dst = out.data() + b * block_bytes;
        const __m256 xs[4] = {_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8), _mm256_loadu_ps(x + 16),
                              _mm256_loadu_ps(x + 24)};
        const std::uint32_t amax_bits = gguf_simd::max_abs_bits<Arch>(xs);
        if (amax_bits >= gguf_simd::non_finite_bits) gguf_simd::reject_block<F>(in, b);
        const float max = amax_bits == 0 ? 0.0f : x[gguf_simd::first_with_abs_bits<Arch>(xs, amax_bits)];
        const float d = max / -16;
        const float id = detail::gguf::inverse_or_zero(d);
        if (!detail::gguf::is_finite(id)) {
          gguf_simd::reference_block<F>(in, out, b);
          continue;
        }
        const std::uint16_t d_bits = gguf_simd::float_to_half<Arch>(d);
        std::memcpy(dst, &d_bits, 2);
        const __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        std::uint32_t qh = 0;
        for (int k = 0; k < 4; ++k) {
          q[k] = _mm256_min_epi32(
              _mm256_cvttps_epi32(_mm256_add_ps(gguf_simd::no_contract<Arch>(_mm256_mul_ps(xs[k], vid)), bias)), top);
          // Bit 4 moved to the sign bit: one movemask gives the 8 elements' fifth bits.
          qh |= static_cast<std::uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_slli_epi32(q[k], 27))))
                << (8 * k);
          q[k] = _mm256_and_si256(q[k], low_nibble);
        }
        std::memcpy(dst + 2, &qh, 4);  // little-endian, as ggml's memcpy(x[i].qh, &qh, sizeof(qh))
        gguf_simd::store_nibbles<Arch>(q, dst + 6);
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
      const __m512i sixteen = _mm512_set1_epi32(16);  // the fifth bit, and the offset
      stream_store::dequantize_to_512<Arch>(out.data(), out.size(), [&](auto& writer) {
        for (std::size_t b = 0; b < blocks; ++b) {
          const std::byte* src = in.data() + b * block_bytes;
          std::uint16_t d_bits;
          std::memcpy(&d_bits, src, 2);
            const __m512 d = _mm512_set1_ps(gguf_simd::half_to_float<Arch>(d_bits));
          std::uint32_t qh;  // little-endian bytes qh[0..3] (ggml: memcpy(&qh, x[i].qh, sizeof(qh)))
          std::memcpy(&qh, src + 2, 4);
          __m512i lo, hi;
          gguf_simd::load_nibbles<Arch>(src + 2 + 4, lo, hi);
          lo = _mm512_mask_or_epi32(lo, static_cast<__mmask16>(qh & 0xffffu), lo, sixteen);
          hi = _mm512_mask_or_epi32(hi, static_cast<__mmask16>(qh >> 16), hi, sixteen);
          const auto value = [&](__m512i q) { return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(q, sixteen)), d); };
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
