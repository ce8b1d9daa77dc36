#pragma once
// Array kernels of GGUF Q8_K (formats/q8_k.hpp): qmath::quantize<formats::q8_k>
// and qmath::dequantize<formats::q8_k>. Every architecture writes the bytes
// and floats of the scalar reference.
//
// Dequantize: the int8 codes sign-extended to lanes, y = d * q.

#include <cstddef>
#include <cstring>
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
  // Quantize: the largest |x| from vector maxima (of the bit patterns, so NaN
  // and Inf come out on top and are rejected), the first element holding it
  // from lane compares, then the codes nearest_int(iscale * x) (ggml's 1.5 * 2^23
  // trick, the product rounded first), capped at 127, and the 16-code sums.
  template <class A>
    requires kquant_simd::enabled<A>
  static void quantize_simd(std::span<const float> in, std::span<std::byte> out) {
    using F = kquant_simd::f32<A>;
    using I = kquant_simd::i32<A>;
    static constexpr std::size_t N = F::size;
    for (std::size_t b = 0; b < in.size() / 256; ++b) {
      const float* x = in.data() + 256 * b;
      I amax_bits(0);
      for (std::size_t i = 0; i < 256; i += N)
        amax_bits = xsimd::max(amax_bits, simd::bitcast<std::int32_t>(F::load_unaligned(x + i)) & I(0x7fffffff));
      const auto amax = static_cast<std::uint32_t>(simd::reduce_max(amax_bits));
      if (amax >= 0x7f800000u) qmath::detail::gguf::require_finite_block<format>(in.subspan(256 * b, 256), b);
      format::block blk{};
      if (amax != 0) {
        std::size_t first = 0;
        while ((qmath::detail::float_bits(x[first]) & 0x7fffffffu) != amax) ++first;
        const float iscale = -127.f / x[first];
        const F viscale(iscale);
        for (std::size_t j = 0; j < 256; j += 16) {
          std::int32_t sum = 0;
          for (std::size_t i = j; i < j + 16; i += N) {
            const F scaled = simd::no_contract(viscale * F::load_unaligned(x + i));
            const I bits = simd::bitcast<std::int32_t>(scaled + F(12582912.f));
            const I q = xsimd::min((bits & I(0x007fffff)) - I(0x00400000), I(127));
            sum += simd::reduce_add(q);
            lowbit_simd::narrow_u8<A>(q & I(0xff), reinterpret_cast<std::uint8_t*>(blk.qs) + i);
          }
          blk.bsums[j / 16] = static_cast<std::int16_t>(sum);
        }
        blk.d = qmath::detail::float_bits(1 / iscale);
      }
      std::memcpy(out.data() + sizeof(format::block) * b, &blk, sizeof blk);
    }
  }

  template <class A>
    requires kquant_simd::enabled<A>
  static void dequantize_simd(std::span<const std::byte> in, std::span<float> out) {
    using I = kquant_simd::i32<A>;
    static constexpr std::size_t N = I::size;
    kquant_simd::dequantize_blocks<format, A>(in, out, [](const format::block& b, auto& sink) {
      const float d = qmath::detail::float_from_bits(b.d);
      const auto* q = reinterpret_cast<const std::uint8_t*>(b.qs);
      for (std::size_t c = 0; c < 256 / N; ++c) sink.put(kquant_simd::scale<A>(kquant_simd::widen_s8<A>(q + N * c), d));
    });
  }
#endif
};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
