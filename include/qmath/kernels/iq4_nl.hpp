#pragma once
// IQ4_NL array kernels: qmath::quantize<formats::iq4_nl, Arch> / dequantize.
// Every path writes the bytes and floats of the scalar reference
// (formats/iq4_nl.hpp). The nearest-table-value search of ggml's
// best_index_int8 becomes a count of the exact decision thresholds
// (detail::iq4nl::decision_threshold) the scaled value reaches; the products
// w*q*x and w*q*q are formed in vectors with the reference's roundings, and
// the two sums run in element order in scalar code, as the reference adds them.
// Dequantization looks the codes up with a byte shuffle of the table.

#include <cstddef>
#include <cstring>
#include <span>

#include "qmath/formats/iq4_nl.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/detail/gguf_simd.hpp"
#include "qmath/kernels/quantize.hpp"

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::iq4_nl> {
  using F = formats::iq4_nl;
  static constexpr std::size_t block_bytes = sizeof(F::block);

  // The end of a block: d from the sums in element order, the codes packed.
  static void finish_block(const float (&wqx)[32], const float (&wqq)[32], std::byte* dst) noexcept {
    float sumqx = 0, sumq2 = 0;
    for (std::size_t j = 0; j < 32; ++j) {
      sumqx += wqx[j];
      sumq2 += wqq[j];
    }
    const float d = sumq2 > 0 ? sumqx / sumq2 : 0.0f;
    const std::uint16_t d_bits = detail::fp16_bits_from_float(d);
    std::memcpy(dst, &d_bits, 2);
  }

  static void zero_block(std::byte* dst) noexcept {
    const std::uint16_t d_bits = detail::fp16_bits_from_float(0.0f);
    std::memcpy(dst, &d_bits, 2);
    std::memset(dst + 2, F::zero_block_code | F::zero_block_code << 4, 16);
  }

  template <class Arch>
  static void quantize(std::span<const float> in, std::span<std::byte> out) {
    const std::size_t blocks = in.size() / 32;
    constexpr auto path = gguf_simd::path_of<Arch>();
    if constexpr (path == gguf_simd::path::reference) {
      detail::reference_quantize_blocks<F>(in, out, 0, blocks);
    }
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX512BW
    else if constexpr (path == gguf_simd::path::avx512bw) {
      const auto& t = detail::iq4nl::decision_threshold;
      __m512 table;
      {
        alignas(64) float v[16];
        for (int i = 0; i < 16; ++i) v[i] = detail::iq4nl::value(i);
        table = _mm512_load_ps(v);
      }
      const __m512i one = _mm512_set1_epi32(1);
      for (std::size_t b = 0; b < blocks; ++b) {
        const float* x = in.data() + b * 32;
        std::byte* dst = out.data() + b * block_bytes;
        const __m512 xs[2] = {_mm512_loadu_ps(x), _mm512_loadu_ps(x + 16)};
        const std::uint32_t amax_bits = gguf_simd::max_abs_bits<Arch>(xs[0], xs[1]);
        if (amax_bits >= gguf_simd::non_finite_bits) gguf_simd::reject_block<F>(in, b);
        if (detail::float_from_bits(amax_bits) < F::group_max_eps) {
          zero_block(dst);
          continue;
        }
        const float max = x[gguf_simd::first_with_abs_bits<Arch>(xs[0], xs[1], amax_bits)];
        const float id = 1 / (max / detail::iq4nl::value(0));
        const __m512 vid = _mm512_set1_ps(id);
        alignas(64) float wqx[32], wqq[32];
        __m512i index[2];
        for (int k = 0; k < 2; ++k) {
          const __m512 scaled = _mm512_mul_ps(vid, xs[k]);
          __m512i l = _mm512_setzero_si512();
          for (std::size_t i = 0; i < 15; ++i)
            l = _mm512_mask_add_epi32(l, _mm512_cmp_ps_mask(scaled, _mm512_set1_ps(t[i]), _CMP_GE_OQ), l, one);
          index[k] = l;
          const __m512 q = _mm512_permutexvar_ps(l, table);
          const __m512 wq = _mm512_mul_ps(_mm512_mul_ps(xs[k], xs[k]), q);
          _mm512_store_ps(wqx + 16 * k, _mm512_mul_ps(wq, xs[k]));
          _mm512_store_ps(wqq + 16 * k, _mm512_mul_ps(wq, q));
        }
        finish_block(wqx, wqq, dst);
        gguf_simd::store_nibbles<Arch>(index[0], index[1], dst + 2);
      }
    }
#endif
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
    else if constexpr (path == gguf_simd::path::avx2) {
      const auto& t = detail::iq4nl::decision_threshold;
      __m256 table_lo, table_hi;
      {
        float v[16];
        for (int i = 0; i < 16; ++i) v[i] = detail::iq4nl::value(i);
        table_lo = _mm256_loadu_ps(v);
        table_hi = _mm256_loadu_ps(v + 8);
      }
      const __m256i seven = _mm256_set1_epi32(7);
      for (std::size_t b = 0; b < blocks; ++b) {
        const float* x = in.data() + b * 32;
        std::byte* dst = out.data() + b * block_bytes;
        const __m256 xs[4] = {_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8), _mm256_loadu_ps(x + 16),
                              _mm256_loadu_ps(x + 24)};
        const std::uint32_t amax_bits = gguf_simd::max_abs_bits<Arch>(xs);
        if (amax_bits >= gguf_simd::non_finite_bits) gguf_simd::reject_block<F>(in, b);
        if (detail::float_from_bits(amax_bits) < F::group_max_eps) {
          zero_block(dst);
          continue;
        }
        const float max = x[gguf_simd::first_with_abs_bits<Arch>(xs, amax_bits)];
        const float id = 1 / (max / detail::iq4nl::value(0));
        const __m256 vid = _mm256_set1_ps(id);
        alignas(32) float wqx[32], wqq[32];
        __m256i index[4];
        for (int k = 0; k < 4; ++k) {
          const __m256 scaled = _mm256_mul_ps(vid, xs[k]);
          __m256i l = _mm256_setzero_si256();
          for (std::size_t i = 0; i < 15; ++i)  // a true compare is -1
            l = _mm256_sub_epi32(l, _mm256_castps_si256(_mm256_cmp_ps(scaled, _mm256_set1_ps(t[i]), _CMP_GE_OQ)));
          index[k] = l;
          const __m256 q = _mm256_blendv_ps(_mm256_permutevar8x32_ps(table_lo, l), _mm256_permutevar8x32_ps(table_hi, l),
                                            _mm256_castsi256_ps(_mm256_cmpgt_epi32(l, seven)));
          const __m256 wq = _mm256_mul_ps(_mm256_mul_ps(xs[k], xs[k]), q);
          _mm256_store_ps(wqx + 8 * k, _mm256_mul_ps(wq, xs[k]));
          _mm256_store_ps(wqq + 8 * k, _mm256_mul_ps(wq, q));
        }
        finish_block(wqx, wqq, dst);
        gguf_simd::store_nibbles<Arch>(index, dst + 2);
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
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
    else {
      // kvalues_iq4nl as a byte-shuffle table: code -> int8 value.
      const __m128i table = _mm_loadu_si128(reinterpret_cast<const __m128i*>(detail::iq4nl::values.data()));
      const __m128i mask = _mm_set1_epi8(0x0f);
      const auto decode = [&](auto& writer) {
        for (std::size_t b = 0; b < blocks; ++b) {
          const std::byte* src = in.data() + b * block_bytes;
          std::uint16_t d_bits;
          std::memcpy(&d_bits, src, 2);
          const float d = gguf_simd::half_to_float<Arch>(d_bits);
          const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2));
          const __m128i lo = _mm_shuffle_epi8(table, _mm_and_si128(raw, mask));
          const __m128i hi = _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(raw, 4), mask));
          if constexpr (path == gguf_simd::path::avx512bw) {
#if XSIMD_WITH_AVX512BW
            const __m512 vd = _mm512_set1_ps(d);
            writer.put(_mm512_mul_ps(vd, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(lo))));
            writer.put(_mm512_mul_ps(vd, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(hi))));
#endif
          } else {
            const __m256 vd = _mm256_set1_ps(d);
            writer.put(_mm256_mul_ps(vd, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo))),
                       _mm256_mul_ps(vd, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)))));
            writer.put(_mm256_mul_ps(vd, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi))),
                       _mm256_mul_ps(vd, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)))));
          }
        }
      };
      if constexpr (path == gguf_simd::path::avx512bw) {
#if XSIMD_WITH_AVX512BW
        stream_store::dequantize_to_512<Arch>(out.data(), out.size(), decode);
#endif
      } else {
        stream_store::dequantize_to_256<Arch>(out.data(), out.size(), decode);
      }
    }
#endif
  }
};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
