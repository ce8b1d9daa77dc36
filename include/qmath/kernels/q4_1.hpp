#pragma once
// Q4_1 array kernels: qmath::quantize<formats::q4_1, Arch> / dequantize.
// Every path writes the bytes and floats of the scalar reference
// (formats/q4_1.hpp). NaN is caught with an unordered compare and Inf by the
// block min / max; a block whose min or max is zero goes through the scalar
// reference (the sign of a zero min is stored, and the reference keeps the
// first zero it meets), as do blocks whose d or 1/d is not finite.
// (x - min)*id is rounded on its own before + 0.5, and q*d before + m.
// AVX-512 quantizes groups of 16 blocks: their minima and maxima come from
// two transposed reductions (gguf_simd::reduce_16_vectors), d, 1/d and the
// fp16 conversions from one vector operation each.

#include <cstddef>
#include <cstring>
#include <span>

#include "qmath/formats/q4_1.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/detail/gguf_simd.hpp"
#include "qmath/kernels/quantize.hpp"

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::q4_1> {
  using F = formats::q4_1;
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
      const __m512i top = _mm512_set1_epi32(15);
      // The codes of one block from its d bits, min bits, min and 1/d.
      const auto encode_block = [&](std::size_t b, std::uint16_t d_bits, std::uint16_t m_bits, float min, float id) {
        const float* x = in.data() + b * 32;
        std::byte* dst = out.data() + b * block_bytes;
        const std::uint16_t dm_bits[2] = {d_bits, m_bits};
        std::memcpy(dst, dm_bits, 4);
        const __m512 vid = _mm512_set1_ps(id), vmin = _mm512_set1_ps(min);
        const auto codes = [&](__m512 v) {
          return _mm512_min_epi32(
              _mm512_cvttps_epi32(_mm512_add_ps(gguf_simd::no_contract<Arch>(_mm512_mul_ps(_mm512_sub_ps(v, vmin), vid)), bias)),
              top);
        };
        gguf_simd::store_nibbles<Arch>(codes(_mm512_loadu_ps(x)), codes(_mm512_loadu_ps(x + 16)), dst + 4);
      };
      gguf_simd::quantize_asymmetric_blocks<F, Arch>(in, out, 15.0f, encode_block);
    }
#endif
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
    else if constexpr (path == gguf_simd::path::avx2) {
      const __m256 bias = _mm256_set1_ps(0.5f);
      const __m256i top = _mm256_set1_epi32(15);
      for (std::size_t b = 0; b < blocks; ++b) {
        const float* x = in.data() + b * 32;
        std::byte* dst = out.data() + b * block_bytes;
        const __m256 xs[4] = {_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8), _mm256_loadu_ps(x + 16),
                              _mm256_loadu_ps(x + 24)};
        float min, max;
        gguf_simd::block_min_max<F, Arch>(in, b, xs, min, max);
        const auto [d, id, to_reference] = gguf_simd::asymmetric_scale_of(min, max, 15.0f);
        if (to_reference) {
          gguf_simd::reference_block<F>(in, out, b);
          continue;
        }
        const std::uint16_t dm_bits[2] = {gguf_simd::float_to_half<Arch>(d), gguf_simd::float_to_half<Arch>(min)};
        std::memcpy(dst, dm_bits, 4);
        const __m256 vid = _mm256_set1_ps(id), vmin = _mm256_set1_ps(min);
        __m256i q[4];
        for (int k = 0; k < 4; ++k)
          q[k] = _mm256_min_epi32(
              _mm256_cvttps_epi32(_mm256_add_ps(
                  gguf_simd::no_contract<Arch>(_mm256_mul_ps(_mm256_sub_ps(xs[k], vmin), vid)), bias)),
              top);
        gguf_simd::store_nibbles<Arch>(q, dst + 4);
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
      stream_store::dequantize_to_512<Arch>(out.data(), out.size(), [&](auto& writer) {
        for (std::size_t b = 0; b < blocks; ++b) {
          const std::byte* src = in.data() + b * block_bytes;
          std::uint16_t d_bits;
          std::memcpy(&d_bits, src, 2);
          std::uint16_t m_bits;
          std::memcpy(&m_bits, src + 2, 2);
          const __m512 d = _mm512_set1_ps(gguf_simd::half_to_float<Arch>(d_bits));
          const __m512 m = _mm512_set1_ps(gguf_simd::half_to_float<Arch>(m_bits));
          __m512i lo, hi;
          gguf_simd::load_nibbles<Arch>(src + 4, lo, hi);
          writer.put(_mm512_add_ps(gguf_simd::no_contract<Arch>(_mm512_mul_ps(_mm512_cvtepi32_ps(lo), d)), m));
          writer.put(_mm512_add_ps(gguf_simd::no_contract<Arch>(_mm512_mul_ps(_mm512_cvtepi32_ps(hi), d)), m));
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
          std::uint16_t m_bits;
          std::memcpy(&m_bits, src + 2, 2);
          const __m256 d = _mm256_set1_ps(gguf_simd::half_to_float<Arch>(d_bits));
          const __m256 m = _mm256_set1_ps(gguf_simd::half_to_float<Arch>(m_bits));
          __m256i q[4];
          gguf_simd::load_nibbles<Arch>(src + 4, q);
          __m256 y[4];
          for (int k = 0; k < 4; ++k)
            y[k] = _mm256_add_ps(gguf_simd::no_contract<Arch>(_mm256_mul_ps(_mm256_cvtepi32_ps(q[k]), d)), m);
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
