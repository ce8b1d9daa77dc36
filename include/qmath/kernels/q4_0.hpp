#pragma once
// Q4_0 array kernels: qmath::quantize<formats::q4_0, Arch> / dequantize.
// Every path writes the bytes and floats of the scalar reference
// (formats/q4_0.hpp). The block's extreme value comes from an integer max of
// the |x| bit patterns (exact, and it flags NaN / Inf) and the first lane that
// holds it, as the reference's strict-compare scan picks it; d and 1/d are the
// reference's scalar divisions; x*id is rounded on its own before + 8.5 and
// truncated like the C cast. Blocks whose 1/d overflows go through the
// scalar reference.

#include <cstddef>
#include <cstring>
#include <span>

#include "qmath/formats/q4_0.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/detail/gguf_simd.hpp"
#include "qmath/kernels/quantize.hpp"

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::q4_0> {
  using F = formats::q4_0;
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
      const __m512 bias = _mm512_set1_ps(8.5f);
      const __m512i top = _mm512_set1_epi32(15);
      for (std::size_t b = 0; b < blocks; ++b) {
        const float* x = in.data() + b * 32;
        std::byte* dst = out.data() + b * block_bytes;
        const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
        const std::uint32_t amax_bits = gguf_simd::max_abs_bits<Arch>(x0, x1);
        if (amax_bits >= gguf_simd::non_finite_bits) gguf_simd::reject_block<F>(in, b);
        const float max = amax_bits == 0 ? 0.0f : x[gguf_simd::first_with_abs_bits<Arch>(x0, x1, amax_bits)];
        const float d = max / -8;
        const float id = detail::gguf::inverse_or_zero(d);
        if (!detail::gguf::is_finite(id)) {
          gguf_simd::reference_block<F>(in, out, b);
          continue;
        }
        const std::uint16_t d_bits = gguf_simd::float_to_half<Arch>(d);
        std::memcpy(dst, &d_bits, 2);
        const __m512 vid = _mm512_set1_ps(id);
        const __m512i q0 = _mm512_min_epi32(
            _mm512_cvttps_epi32(_mm512_add_ps(gguf_simd::no_contract<Arch>(_mm512_mul_ps(x0, vid)), bias)), top);
        const __m512i q1 = _mm512_min_epi32(
            _mm512_cvttps_epi32(_mm512_add_ps(gguf_simd::no_contract<Arch>(_mm512_mul_ps(x1, vid)), bias)), top);
        gguf_simd::store_nibbles<Arch>(q0, q1, dst + 2);
      }
    }
#endif
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
    else if constexpr (path == gguf_simd::path::avx2) {
      const __m256 bias = _mm256_set1_ps(8.5f);
      const __m256i top = _mm256_set1_epi32(15);
      for (std::size_t b = 0; b < blocks; ++b) {
        const float* x = in.data() + b * 32;
        std::byte* dst = out.data() + b * block_bytes;
        const __m256 xs[4] = {_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8), _mm256_loadu_ps(x + 16),
                              _mm256_loadu_ps(x + 24)};
        const std::uint32_t amax_bits = gguf_simd::max_abs_bits<Arch>(xs);
        if (amax_bits >= gguf_simd::non_finite_bits) gguf_simd::reject_block<F>(in, b);
        const float max = amax_bits == 0 ? 0.0f : x[gguf_simd::first_with_abs_bits<Arch>(xs, amax_bits)];
        const float d = max / -8;
        const float id = detail::gguf::inverse_or_zero(d);
        if (!detail::gguf::is_finite(id)) {
          gguf_simd::reference_block<F>(in, out, b);
          continue;
        }
        const std::uint16_t d_bits = gguf_simd::float_to_half<Arch>(d);
        std::memcpy(dst, &d_bits, 2);
        const __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; ++k)
          q[k] = _mm256_min_epi32(
              _mm256_cvttps_epi32(_mm256_add_ps(gguf_simd::no_contract<Arch>(_mm256_mul_ps(xs[k], vid)), bias)), top);
        gguf_simd::store_nibbles<Arch>(q, dst + 2);
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
      const __m512i eight = _mm512_set1_epi32(8);
      stream_store::dequantize_to_512<Arch>(out.data(), out.size(), [&](auto& writer) {
        for (std::size_t b = 0; b < blocks; ++b) {
          const std::byte* src = in.data() + b * block_bytes;
          std::uint16_t d_bits;
          std::memcpy(&d_bits, src, 2);
          const __m512 d = _mm512_set1_ps(gguf_simd::half_to_float<Arch>(d_bits));
          __m512i lo, hi;
          gguf_simd::load_nibbles<Arch>(src + 2, lo, hi);
          writer.put(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(lo, eight)), d));
          writer.put(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(hi, eight)), d));
        }
      });
    }
#endif
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
    else if constexpr (path == gguf_simd::path::avx2) {
      const __m256i eight = _mm256_set1_epi32(8);
      stream_store::dequantize_to_256<Arch>(out.data(), out.size(), [&](auto& writer) {
        for (std::size_t b = 0; b < blocks; ++b) {
          const std::byte* src = in.data() + b * block_bytes;
          std::uint16_t d_bits;
          std::memcpy(&d_bits, src, 2);
          const __m256 d = _mm256_set1_ps(gguf_simd::half_to_float<Arch>(d_bits));
          __m256i q[4];
          gguf_simd::load_nibbles<Arch>(src + 2, q);
          __m256 y[4];
          for (int k = 0; k < 4; ++k) y[k] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(q[k], eight)), d);
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
