#pragma once
// Array kernels of GGUF IQ4_XS (formats/iq4_xs.hpp): qmath::quantize<formats::iq4_xs>
// and qmath::dequantize<formats::iq4_xs>. Every architecture writes the bytes
// and floats of the scalar reference.
//
// Dequantize: per 32 elements the table dl * kvalues_iq4nl (the reference's
// products), looked up by the low then the high nibbles (vpermps).

#include <cstddef>
#include <span>

#include "qmath/formats/iq4_xs.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/detail/block_dispatch.hpp"
#include "qmath/kernels/quantize.hpp"

#if !QMATH_DISABLE_SIMD
#include "qmath/kernels/detail/kquant_simd.hpp"
#endif

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::iq4_xs> : simd_or_reference<block_kernel<formats::iq4_xs>, formats::iq4_xs> {
  using format = formats::iq4_xs;

#if !QMATH_DISABLE_SIMD
  template <class A>
    requires kquant_simd::enabled<A>
  static void dequantize_simd(std::span<const std::byte> in, std::span<float> out) {
    using I = kquant_simd::i32<A>;
    static constexpr std::size_t N = I::size;
    const kquant_simd::table_values<A, float (*)(unsigned)> values(
        [](unsigned k) { return qmath::detail::iq4nl::value(static_cast<int>(k)); });
    kquant_simd::dequantize_blocks<format, A>(in, out, [&values](const format::block& b, auto& sink) {
      const float d = lowbit_simd::half_to_float<A>(b.d);
      for (std::size_t ib = 0; ib < 8; ++ib) {
        const int ls = ((b.scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((b.scales_h >> (2 * ib)) & 3) << 4);
        const kquant_simd::table16<A> table(values.v, d * static_cast<float>(ls - 32));
        I bytes[16 / N];
        for (std::size_t c = 0; c < 16 / N; ++c) bytes[c] = lowbit_simd::widen_u8<A>(b.qs + 16 * ib + N * c);
        for (std::size_t c = 0; c < 16 / N; ++c) sink.put(table(bytes[c] & I(0xF)));
        for (std::size_t c = 0; c < 16 / N; ++c) sink.put(table(bytes[c] >> 4));
      }
    });
  }
#endif
};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
