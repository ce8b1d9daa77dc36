#pragma once
// Array kernels of GGUF Q5_K (formats/q5_k.hpp): qmath::quantize<formats::q5_k>
// and qmath::dequantize<formats::q5_k>. Every architecture writes the bytes
// and floats of the scalar reference.
//
// Dequantize: the 32 high-bit bytes widened once per block, each 64
// elements' code bytes once, then y = dl * (low + 16 high) - ml (products
// exact): on AVX-512 the 32 possible outputs of a sub-block are formed once and
// looked up (vpermt2ps), on AVX2 each output is computed.

#include <cstddef>
#include <span>

#include "qmath/formats/q5_k.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/detail/block_dispatch.hpp"
#include "qmath/kernels/quantize.hpp"

#if !QMATH_DISABLE_SIMD
#include "qmath/kernels/detail/kquant_simd.hpp"
#endif

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::q5_k> : simd_or_reference<block_kernel<formats::q5_k>, formats::q5_k> {
  using format = formats::q5_k;

#if !QMATH_DISABLE_SIMD
  template <class A>
    requires kquant_simd::enabled<A>
  static void dequantize_simd(std::span<const std::byte> in, std::span<float> out) {
    using I = kquant_simd::i32<A>;
    static constexpr std::size_t N = I::size;
    kquant_simd::dequantize_blocks<format, A>(in, out, [](const format::block& b, auto& sink) {
      const float d = lowbit_simd::half_to_float<A>(b.d), dmin = lowbit_simd::half_to_float<A>(b.dmin);
      I high[32 / N];
      for (std::size_t c = 0; c < 32 / N; ++c) high[c] = lowbit_simd::widen_u8<A>(b.qh + N * c);
      for (std::size_t j = 0; j < 4; ++j) {
        I bytes[32 / N];
        for (std::size_t c = 0; c < 32 / N; ++c) bytes[c] = lowbit_simd::widen_u8<A>(b.qs + 32 * j + N * c);
        for (std::size_t half = 0; half < 2; ++half) {
          const auto sm = qmath::detail::kquant::scale_min_k4(2 * j + half, b.scales);
          const float dl = d * static_cast<float>(sm.scale), ml = dmin * static_cast<float>(sm.min);
          const auto shift = static_cast<std::int32_t>(2 * j + half);
#if XSIMD_WITH_AVX512BW
          if constexpr (lowbit_simd::use_avx512<A>) {
            // The 32 outputs {dl * q - ml : q = 0..31} as two tables, one vpermt2ps each.
            const __m512 codes = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            const kquant_simd::f32<A> vdl(dl), vml(ml);
            const __m512 low_table = kquant_simd::f32<A>(codes) * vdl - vml;
            const __m512 high_table = (kquant_simd::f32<A>(codes) + kquant_simd::f32<A>(16.f)) * vdl - vml;
            for (std::size_t c = 0; c < 32 / N; ++c) {
              const I low = half == 0 ? (bytes[c] & I(0xF)) : (bytes[c] >> 4);
              const I q = low | (((high[c] >> shift) & I(1)) << 4);
              sink.put(kquant_simd::f32<A>(_mm512_permutex2var_ps(low_table, q, high_table)));
            }
            continue;
          }
#endif
          for (std::size_t c = 0; c < 32 / N; ++c) {
            const I low = half == 0 ? (bytes[c] & I(0xF)) : (bytes[c] >> 4);
            sink.put(kquant_simd::scale_min<A>(low | (((high[c] >> shift) & I(1)) << 4), dl, ml));
          }
        }
      }
    });
  }
#endif
};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
