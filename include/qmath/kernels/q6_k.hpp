#pragma once
// Array kernels of GGUF Q6_K (formats/q6_k.hpp): qmath::quantize<formats::q6_k>
// and qmath::dequantize<formats::q6_k>. Every architecture writes the bytes
// and floats of the scalar reference.
//
// Dequantize: per 128 elements the 64 low and 32 high code bytes widened
// once, then y = (d * sc) * (q - 32) with the product d * sc formed in scalar
// code first, as the reference does.

#include <cstddef>
#include <span>

#include "qmath/formats/q6_k.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/detail/block_dispatch.hpp"
#include "qmath/kernels/quantize.hpp"

#if !QMATH_DISABLE_SIMD
#include "qmath/kernels/detail/kquant_simd.hpp"
#endif

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::q6_k> : simd_or_reference<block_kernel<formats::q6_k>, formats::q6_k> {
  using format = formats::q6_k;

#if !QMATH_DISABLE_SIMD
  template <class A>
    requires kquant_simd::enabled<A>
  static void dequantize_simd(std::span<const std::byte> in, std::span<float> out) {
    using I = kquant_simd::i32<A>;
    static constexpr std::size_t N = I::size;
    kquant_simd::dequantize_blocks<format, A>(in, out, [](const format::block& b, auto& sink) {
      const float d = lowbit_simd::half_to_float<A>(b.d);
      for (std::size_t h = 0; h < 2; ++h) {
        I lo0[32 / N], lo1[32 / N], hi[32 / N];
        for (std::size_t c = 0; c < 32 / N; ++c) {
          lo0[c] = lowbit_simd::widen_u8<A>(b.ql + 64 * h + N * c);
          lo1[c] = lowbit_simd::widen_u8<A>(b.ql + 64 * h + 32 + N * c);
          hi[c] = lowbit_simd::widen_u8<A>(b.qh + 32 * h + N * c);
        }
        for (std::size_t k = 0; k < 4; ++k)
          for (std::size_t c = 0; c < 32 / N; ++c) {
            const I& low_bytes = (k % 2 == 0) ? lo0[c] : lo1[c];
            const I low = k < 2 ? (low_bytes & I(0xF)) : (low_bytes >> 4);
            const I q = (low | (((hi[c] >> static_cast<std::int32_t>(2 * k)) & I(3)) << 4)) - I(32);
            const float dl = d * static_cast<float>(b.scales[8 * h + (N * c) / 16 + 2 * k]);
            sink.put(kquant_simd::scale<A>(q, dl));
          }
      }
    });
  }
#endif
};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
