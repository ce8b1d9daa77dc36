#pragma once
// Array kernels of GGUF Q3_K (formats/q3_k.hpp): qmath::quantize<formats::q3_k>
// and qmath::dequantize<formats::q3_k>. Every architecture writes the bytes
// and floats of the scalar reference.
//
// Dequantize: the 32 high-bit bytes widened once per block, each 128
// elements' 2-bit plane bytes once, then y = dl * (low + 4 high - 4).

#include <cstddef>
#include <span>

#include "qmath/formats/q3_k.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/detail/block_dispatch.hpp"
#include "qmath/kernels/quantize.hpp"

#if !QMATH_DISABLE_SIMD
#include "qmath/kernels/detail/kquant_simd.hpp"
#endif

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::q3_k> : simd_or_reference<block_kernel<formats::q3_k>, formats::q3_k> {
  using format = formats::q3_k;

#if !QMATH_DISABLE_SIMD
  template <class A>
    requires kquant_simd::enabled<A>
  static void dequantize_simd(std::span<const std::byte> in, std::span<float> out) {
    using I = kquant_simd::i32<A>;
    static constexpr std::size_t N = I::size;
    kquant_simd::dequantize_blocks<format, A>(in, out, [](const format::block& b, auto& sink) {
      const float d = lowbit_simd::half_to_float<A>(b.d);
      I high[32 / N];
      for (std::size_t c = 0; c < 32 / N; ++c) high[c] = lowbit_simd::widen_u8<A>(b.hmask + N * c);
      for (std::size_t h = 0; h < 2; ++h) {
        I bytes[32 / N];
        for (std::size_t c = 0; c < 32 / N; ++c) bytes[c] = lowbit_simd::widen_u8<A>(b.qs + 32 * h + N * c);
        for (std::size_t k = 0; k < 4; ++k) {
          const auto shift = static_cast<std::int32_t>(2 * k), bit = static_cast<std::int32_t>(4 * h + k);
          for (std::size_t c = 0; c < 32 / N; ++c) {
            const std::size_t j = 8 * h + 2 * k + (N * c) / 16;  // the scale of these 16 elements
            const float dl = d * static_cast<float>(format::stored_scale(b.scales, j) - 32);
            const I q = ((bytes[c] >> shift) & I(3)) + (((high[c] >> bit) & I(1)) << 2) - I(4);
            sink.put(kquant_simd::scale<A>(q, dl));
          }
        }
      }
    });
  }
#endif
};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
