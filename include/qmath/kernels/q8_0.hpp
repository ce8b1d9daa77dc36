#pragma once
// Q8_0 array kernels: qmath::quantize<formats::q8_0, Arch> / dequantize.
// Every path writes the bytes and floats of the scalar reference
// (formats/q8_0.hpp): the block absmax is an integer max of the |x| bit
// patterns (exact, and it flags NaN / Inf at once), d and 1/d are the
// reference's float divisions (per lane, 16 blocks at a time on AVX-512), and
// roundf is rebuilt exactly as a truncation of x*id + copysign(0.5 - 2^-25, x*id),
// because the vector rounding instructions round ties to even. Blocks whose 1/d overflows
// (inputs below about 2^-128) go through the scalar reference. Dequantization
// converts the fp16 scales of 16 blocks with one vcvtph2ps and writes through
// kernels/detail/stream_store.hpp (streaming stores for large outputs).

#include <cstddef>
#include <cstring>
#include <span>

#include "qmath/formats/q8_0.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/detail/gguf_simd.hpp"
#include "qmath/kernels/quantize.hpp"

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::q8_0> {
  using F = formats::q8_0;
  static constexpr std::size_t block_bytes = sizeof(F::block);

  // roundf(p) == trunc(p + copysign(0.5 - 2^-25, p)) for every finite float p:
  // below a tie the sum stays under the next integer (for |p| < 0.5 it stays
  // under 1 - 2^-25, the rounding boundary below 1.0), at or above a tie it
  // reaches it (a sum within 2^-25 below an integer >= 1 rounds up to it), and
  // from 2^23 on p is an integer and the offset is below half an ulp.
  // (Adding 0.5 instead would round 0.49999997 up.)
  static constexpr float round_offset = 0.49999997f;
  static_assert(detail::float_bits(round_offset) == 0x3effffffu);

  template <class Arch>
  static void quantize(std::span<const float> in, std::span<std::byte> out) {
    const std::size_t blocks = in.size() / 32;
    constexpr auto path = gguf_simd::path_of<Arch>();
    if constexpr (path == gguf_simd::path::reference) {
      detail::reference_quantize_blocks<F>(in, out, 0, blocks);
    }
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX512BW
    else if constexpr (path == gguf_simd::path::avx512bw) {
      // Groups of 16 blocks: the 16 block maxima come from one transposed
      // reduction; d = amax / 127, id = 1/d and fp16(d) for the 16 blocks from
      // one vector operation each (the same IEEE operations as the
      // reference's scalar ones); then the codes of two blocks at a time,
      // narrowed to bytes with two pack steps and one permute.
      const __m512 rounding = _mm512_set1_ps(round_offset);
      const __m512i sign = _mm512_set1_epi32(static_cast<int>(0x80000000u));
      // roundf(x * id) for 16 values, as int32.
      const auto codes = [&](const float* x, __m512 vid) {
        const __m512 p = gguf_simd::no_contract<Arch>(_mm512_mul_ps(_mm512_loadu_ps(x), vid));
        const __m512 offset = _mm512_castsi512_ps(
            _mm512_ternarylogic_epi32(_mm512_castps_si512(p), sign, _mm512_castps_si512(rounding), 0xea));  // (p & sign) | rounding
        return _mm512_cvttps_epi32(_mm512_add_ps(p, offset));
      };
      // packs_epi32 then packs_epi16 leave the 32-bit groups of each 128-bit lane in the order 0, 4, 8, 12, 1, ...
      const __m512i byte_order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
      for (std::size_t first = 0; first < blocks; first += 16) {
        const std::size_t group = blocks - first < 16 ? blocks - first : 16;
        const float* xg = in.data() + first * 32;
        __m512i amax;
        if (group == 16) {
          amax = gguf_simd::max_abs_bits_16_blocks<Arch>(xg);
        } else {
          alignas(64) std::uint32_t amax_bits[16] = {};
          for (std::size_t g = 0; g < group; ++g)
            amax_bits[g] = gguf_simd::max_abs_bits<Arch>(_mm512_loadu_ps(xg + 32 * g), _mm512_loadu_ps(xg + 32 * g + 16));
          amax = _mm512_load_si512(amax_bits);
        }
        if (_mm512_reduce_max_epu32(amax) >= gguf_simd::non_finite_bits) gguf_simd::reject_first_bad_block<F>(in, first, group);
        const __m512 d = _mm512_div_ps(_mm512_castsi512_ps(amax), _mm512_set1_ps(127.0f));
        const __m512 id = _mm512_maskz_div_ps(_mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_NEQ_OQ),
                                              _mm512_set1_ps(1.0f), d);
        const bool id_overflows =
            _mm512_reduce_max_epu32(_mm512_andnot_si512(sign, _mm512_castps_si512(id))) >= gguf_simd::non_finite_bits;
        alignas(64) float ids[16];
        alignas(32) std::uint16_t d_bits[16];
        _mm512_store_ps(ids, id);
        _mm256_store_si256(reinterpret_cast<__m256i*>(d_bits), _mm512_cvtps_ph(d, 0));  // 0: nearest even
        std::byte* dst = out.data() + first * block_bytes;
        std::size_t g = 0;
        if (!id_overflows)
          for (; g + 2 <= group; g += 2) {
            const float* x = xg + 32 * g;
            const __m512 id0 = _mm512_set1_ps(ids[g]), id1 = _mm512_set1_ps(ids[g + 1]);
            const __m512i words0 = _mm512_packs_epi32(codes(x, id0), codes(x + 16, id0));
            const __m512i words1 = _mm512_packs_epi32(codes(x + 32, id1), codes(x + 48, id1));
            const __m512i bytes = _mm512_permutexvar_epi32(byte_order, _mm512_packs_epi16(words0, words1));
            std::byte* b0 = dst + g * block_bytes;
            std::memcpy(b0, &d_bits[g], 2);
            std::memcpy(b0 + block_bytes, &d_bits[g + 1], 2);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(b0 + 2), _mm512_castsi512_si256(bytes));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(b0 + block_bytes + 2), _mm512_extracti64x4_epi64(bytes, 1));
          }
        for (; g < group; ++g) {
          if (!detail::gguf::is_finite(ids[g])) {
            gguf_simd::reference_block<F>(in, out, first + g);
            continue;
          }
          std::byte* b0 = dst + g * block_bytes;
          std::memcpy(b0, &d_bits[g], 2);
          const __m512 vid = _mm512_set1_ps(ids[g]);
          for (int k = 0; k < 2; ++k)
            _mm_storeu_si128(reinterpret_cast<__m128i*>(b0 + 2 + 16 * k), _mm512_cvtepi32_epi8(codes(xg + 32 * g + 16 * k, vid)));
        }
      }
    }
#endif
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
    else if constexpr (path == gguf_simd::path::avx2) {
      for (std::size_t b = 0; b < blocks; ++b) {
        const float* x = in.data() + b * 32;
        std::byte* dst = out.data() + b * block_bytes;
        const __m256 xs[4] = {_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8), _mm256_loadu_ps(x + 16),
                              _mm256_loadu_ps(x + 24)};
        const std::uint32_t amax_bits = gguf_simd::max_abs_bits<Arch>(xs);
        if (amax_bits >= gguf_simd::non_finite_bits) gguf_simd::reject_block<F>(in, b);
        const float d = detail::float_from_bits(amax_bits) / 127;
        const float id = detail::gguf::inverse_or_zero(d);
        if (!detail::gguf::is_finite(id)) {
          gguf_simd::reference_block<F>(in, out, b);
          continue;
        }
        const std::uint16_t d_bits = gguf_simd::float_to_half<Arch>(d);
        std::memcpy(dst, &d_bits, 2);
        const __m256 vid = _mm256_set1_ps(id);
        const __m256 rounding = _mm256_set1_ps(round_offset), sign = _mm256_set1_ps(-0.0f);
        __m256i q[4];
        for (int k = 0; k < 4; ++k) {
          const __m256 p = gguf_simd::no_contract<Arch>(_mm256_mul_ps(xs[k], vid));
          q[k] = _mm256_cvttps_epi32(_mm256_add_ps(p, _mm256_or_ps(_mm256_and_ps(p, sign), rounding)));
        }
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 2), gguf_simd::narrow_to_bytes<Arch>(q));
      }
    }
#endif
  }

  template <class Arch>
  static void dequantize(std::span<const std::byte> in, std::span<float> out) {
    const std::size_t blocks = out.size() / 32;
    constexpr auto path = gguf_simd::path_of<Arch>();
    if constexpr (path == gguf_simd::path::reference) {
      detail::reference_dequantize_blocks<F>(in, out, 0, blocks);
    }
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX512BW
    else if constexpr (path == gguf_simd::path::avx512bw) {
      // Groups of 16 blocks: their fp16 scales converted by one vcvtph2ps and
      // kept in memory, so that each block's broadcast is a plain load.
      stream_store::dequantize_to_512<Arch>(out.data(), out.size(), [&](auto& writer) {
        const std::byte* src = in.data();
        const auto block_out = [&](const std::byte* qs, __m512 d) {
          const __m512i q0 = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
          const __m512i q1 = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs + 16)));
          writer.put(_mm512_mul_ps(_mm512_cvtepi32_ps(q0), d));
          writer.put(_mm512_mul_ps(_mm512_cvtepi32_ps(q1), d));
        };
        std::size_t b = 0;
        for (; b + 16 <= blocks; b += 16) {
          alignas(32) std::uint16_t d_bits[16];
          for (std::size_t k = 0; k < 16; ++k) std::memcpy(&d_bits[k], src + (b + k) * block_bytes, 2);
          alignas(64) float d[16];
          _mm512_store_ps(d, _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(d_bits))));
          for (std::size_t k = 0; k < 16; ++k) block_out(src + (b + k) * block_bytes + 2, _mm512_set1_ps(d[k]));
        }
        for (; b < blocks; ++b) {
          std::uint16_t d_bits;
          std::memcpy(&d_bits, src + b * block_bytes, 2);
          block_out(src + b * block_bytes + 2, _mm512_set1_ps(gguf_simd::half_to_float<Arch>(d_bits)));
        }
      });
    }
#endif
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
    else if constexpr (path == gguf_simd::path::avx2) {
      stream_store::dequantize_to_256<Arch>(out.data(), out.size(), [&](auto& writer) {
        for (std::size_t b = 0; b < blocks; ++b) {
          const std::byte* src = in.data() + b * block_bytes;
          std::uint16_t d_bits;
          std::memcpy(&d_bits, src, 2);
          const __m256 d = _mm256_set1_ps(gguf_simd::half_to_float<Arch>(d_bits));
          __m256 y[4];
          for (int k = 0; k < 4; ++k) {
            const __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + 2 + 8 * k)));
            y[k] = _mm256_mul_ps(_mm256_cvtepi32_ps(q), d);
          }
          writer.put(y[0], y[1]);
          writer.put(y[2], y[3]);
        }
      });
    }
#endif
  }
};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
