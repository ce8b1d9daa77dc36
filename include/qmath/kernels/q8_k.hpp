#pragma once
// Array kernels of GGUF Q8_K (formats/q8_k.hpp): qmath::quantize<formats::q8_k>
// and qmath::dequantize<formats::q8_k>. Every architecture writes the bytes
// and floats of the scalar reference.
//
// Dequantize: the int8 codes sign-extended to lanes, y = d * q.

#include <cstddef>
#include <span>

#include "qmath/formats/q8_k.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/detail/block_dispatch.hpp"
#include "qmath/kernels/quantize.hpp"

#if !QMATH_DISABLE_SIMD
#include "qmath/kernels/detail/kquant_simd.hpp"
#endif

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::q8_k> : simd_or_reference<block_kernel<formats::q8_k>, formats::q8_k> {
  using format = formats::q8_k;

#if !QMATH_DISABLE_SIMD
  template <class A>
  static void dequantize_simd(std::span<const std::byte> in, std::span<float> out) {
    using I = kquant_simd::i32<A>;
    constexpr std::size_t N = I::size;
    if constexpr (!kquant_simd::enabled<A>) {
      qmath::detail::reference_dequantize_blocks<format>(in, out, 0, out.size() / 256);
    } else {
      kquant_simd::dequantize_blocks<format, A>(in, out, [](const format::block& b, auto& sink) {
        const float d = qmath::detail::float_from_bits(b.d);
        const auto* q = reinterpret_cast<const std::uint8_t*>(b.qs);
        for (std::size_t c = 0; c < 256 / N; ++c) sink.put(kquant_simd::scale<A>(kquant_simd::widen_s8<A>(q + N * c), d));
      });
    }
  }
#endif
};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
