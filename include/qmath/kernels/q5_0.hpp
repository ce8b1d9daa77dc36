#pragma once
// Q5_0 array kernels: qmath::quantize<formats::q5_0, Arch> / dequantize.
// Quantization runs the constexpr scalar reference (formats/q5_0.hpp) on every
// architecture for now. Dequantization has an AVX-512BW path that writes the
// reference's floats: the 5-bit code is the nibble of qs with bit j (low
// half) or bit j + 16 (high half) of qh as its fifth bit, added as a masked
// OR from qh used directly as two 16-lane masks; y = (q - 16) * d.

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
    detail::reference_quantize_blocks<F>(in, out, 0, in.size() / 32);
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
