#pragma once
// Array kernels of GGUF TQ2_0 (formats/tq2_0.hpp): qmath::quantize<formats::tq2_0>
// and qmath::dequantize<formats::tq2_0>. Every architecture writes the bytes
// and floats of the scalar reference.
//
// Dequantize: a 32-byte plane is widened to int32 lanes once; the four outputs
// of a byte are (byte >> 2n) looked up in the table {-d, 0, d, 2d} (vpermps).
// Quantize: the code of x * (1/amax) is two compares; four codes combine to a
// byte as c0 + 4 c1 + 16 c2 + 64 c3, exact in float, narrowed once.

#include <cstddef>
#include <cstring>
#include <span>

#include "qmath/formats/reference.hpp"
#include "qmath/formats/tq2_0.hpp"
#include "qmath/kernels/detail/block_dispatch.hpp"
#include "qmath/kernels/quantize.hpp"

#if !QMATH_DISABLE_SIMD
#include "qmath/kernels/detail/lowbit_simd.hpp"
#endif

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::tq2_0> : simd_or_reference<block_kernel<formats::tq2_0>, formats::tq2_0> {
  using format = formats::tq2_0;
  using block = format::block;

#if !QMATH_DISABLE_SIMD
  template <class A>
  static void quantize_simd(std::span<const float> in, std::span<std::byte> out) {
    using F = lowbit_simd::f32<A>;
    static constexpr std::size_t N = F::size;
    static_assert(32 % N == 0);
    for (std::size_t b = 0; b < in.size() / 256; ++b) {
      const float* x = in.data() + 256 * b;
      F amax(0.f);
      bool bad = false;
      for (std::size_t i = 0; i < 256; i += N) {
        const F v = F::load_unaligned(x + i);
        bad |= lowbit_simd::any_non_finite<A>(v);
        amax = xsimd::max(amax, xsimd::abs(v));
      }
      if (bad) qmath::detail::gguf::require_finite_block<format>(in.subspan(256 * b, 256), b);
      const float max_abs = simd::reduce_max(amax);
      const F inverse(qmath::detail::lowbit::ternary_inverse_scale(max_abs));
      block out_block;
      out_block.d = qmath::detail::fp16_bits_from_float(max_abs);
      const F half(0.5f), minus_half(-0.5f), zero(0.f), one(1.f), two(2.f);
      for (std::size_t h = 0; h < 2; ++h)
        for (std::size_t m = 0; m < 32; m += N) {
          F byte_value(0.f);
          float weight = 1.f;
          for (std::size_t n = 0; n < 4; ++n, weight *= 4.f) {
            const F v = F::load_unaligned(x + 128 * h + 32 * n + m) * inverse;
            const F code = xsimd::select(v >= half, two, xsimd::select(v <= minus_half, zero, one));
            byte_value += code * F(weight);  // small integers: exact, fused or not
          }
          lowbit_simd::narrow_u8<A>(xsimd::batch_cast<std::int32_t>(byte_value), out_block.qs + 32 * h + m);
        }
      std::memcpy(out.data() + sizeof(block) * b, &out_block, sizeof(block));
    }
  }

  template <class A>
  static void dequantize_simd(std::span<const std::byte> in, std::span<float> out) {
    using I = lowbit_simd::i32<A>;
    static constexpr std::size_t N = I::size;
    static_assert(32 % N == 0);
    lowbit_simd::write_in_order<A>(out.data(), out.size(), [&](auto& sink) {
      for (std::size_t b = 0; b < out.size() / 256; ++b) {
        const auto* src = reinterpret_cast<const std::uint8_t*>(in.data()) + sizeof(block) * b;
        std::uint16_t d_bits;
        std::memcpy(&d_bits, src + 64, 2);
        const float d = lowbit_simd::half_to_float<A>(d_bits);
        const auto table = lowbit_simd::make_code_table<A>([d](const lowbit_simd::f32<A>& q) {
          return (q - lowbit_simd::f32<A>(1.f)) * lowbit_simd::f32<A>(d);  // (code - 1) * d, as the reference
        });
        // The whole 32-byte plane first, so the outputs are written in order:
        // element 128h + 32n + m is digit n of byte 32h + m.
        for (std::size_t h = 0; h < 2; ++h) {
          I bytes[32 / N];
          for (std::size_t c = 0; c < 32 / N; ++c) bytes[c] = lowbit_simd::widen_u8<A>(src + 32 * h + N * c);
          for (std::int32_t n = 0; n < 4; ++n)
            for (std::size_t c = 0; c < 32 / N; ++c) sink.put(table(bytes[c] >> (2 * n)));
        }
      }
    });
  }
#endif
};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
