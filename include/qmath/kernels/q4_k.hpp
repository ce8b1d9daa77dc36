#pragma once
// Array kernels of GGUF Q4_K (formats/q4_k.hpp): qmath::quantize<formats::q4_k>
// and qmath::dequantize<formats::q4_k>. Every architecture writes the bytes
// and floats of the scalar reference.
//
// Dequantize: per 64 elements the 32 code bytes widened once; per 32 the
// table {dl * q - ml : q = 0..15} (the reference's formula on each code), looked
// up by the low then the high nibbles (vpermps).

#include <cstddef>
#include <span>

#include "qmath/formats/q4_k.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/detail/block_dispatch.hpp"
#include "qmath/kernels/quantize.hpp"

#if !QMATH_DISABLE_SIMD
#include "qmath/kernels/detail/kquant_simd.hpp"
#endif

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::q4_k> : simd_or_reference<block_kernel<formats::q4_k>, formats::q4_k> {
  using format = formats::q4_k;

#if !QMATH_DISABLE_SIMD
  template <class A>
    requires kquant_simd::enabled<A>
  static void dequantize_simd(std::span<const std::byte> in, std::span<float> out) {
    using I = kquant_simd::i32<A>;
    static constexpr std::size_t N = I::size;
    const kquant_simd::table_values<A, float (*)(unsigned)> codes([](unsigned k) { return static_cast<float>(k); });
    kquant_simd::dequantize_blocks<format, A>(in, out, [&codes](const format::block& b, auto& sink) {
      const float d = lowbit_simd::half_to_float<A>(b.d), dmin = lowbit_simd::half_to_float<A>(b.dmin);
      for (std::size_t j = 0; j < 4; ++j) {
        I bytes[32 / N];
        for (std::size_t c = 0; c < 32 / N; ++c) bytes[c] = lowbit_simd::widen_u8<A>(b.qs + 32 * j + N * c);
        for (std::size_t half = 0; half < 2; ++half) {
          const auto sm = qmath::detail::kquant::scale_min_k4(2 * j + half, b.scales);
          const float dl = d * static_cast<float>(sm.scale), ml = dmin * static_cast<float>(sm.min);
          const auto table = kquant_simd::affine_table<A>(codes.v, dl, ml);
          for (std::size_t c = 0; c < 32 / N; ++c) sink.put(table(half == 0 ? (bytes[c] & I(0xF)) : (bytes[c] >> 4)));
        }
      }
    });
  }
#endif
};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
