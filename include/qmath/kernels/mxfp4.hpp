#pragma once
// Array kernels of GGUF MXFP4 (formats/mxfp4.hpp): qmath::quantize<formats::mxfp4>
// and qmath::dequantize<formats::mxfp4>. Every architecture writes the bytes
// and floats of the scalar reference.
//
// Dequantize: per block the table kvalues_fp4 * 2^(e - 128), looked up by
// the low then the high nibbles (vpermps).

#include <cstddef>
#include <span>

#include "qmath/formats/mxfp4.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/detail/block_dispatch.hpp"
#include "qmath/kernels/quantize.hpp"

#if !QMATH_DISABLE_SIMD
#include "qmath/kernels/detail/kquant_simd.hpp"
#endif

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::mxfp4> : simd_or_reference<block_kernel<formats::mxfp4>, formats::mxfp4> {
  using format = formats::mxfp4;

#if !QMATH_DISABLE_SIMD
  template <class A>
    requires kquant_simd::enabled<A>
  static void dequantize_simd(std::span<const std::byte> in, std::span<float> out) {
    using I = kquant_simd::i32<A>;
    static constexpr std::size_t N = I::size;
    const kquant_simd::table_values<A, float (*)(unsigned)> values(
        [](unsigned k) { return qmath::detail::fp4::value(k); });
    kquant_simd::dequantize_blocks<format, A>(in, out, [&values](const format::block& b, auto& sink) {
      const kquant_simd::table16<A> table(values.v, qmath::detail::fp4::e8m0_half(b.e));
      I bytes[16 / N];
      for (std::size_t c = 0; c < 16 / N; ++c) bytes[c] = lowbit_simd::widen_u8<A>(b.qs + N * c);
      for (std::size_t c = 0; c < 16 / N; ++c) sink.put(table(bytes[c] & I(0xF)));
      for (std::size_t c = 0; c < 16 / N; ++c) sink.put(table(bytes[c] >> 4));
    });
  }
#endif
};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
