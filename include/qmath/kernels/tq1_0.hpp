#pragma once
// Array kernels of GGUF TQ1_0 (formats/tq1_0.hpp): qmath::quantize<formats::tq1_0>
// and qmath::dequantize<formats::tq1_0>. Every architecture writes the bytes
// and floats of the scalar reference.
//
// Dequantize: digit n of byte b is ((b * 3^n mod 256) * 3) >> 8; with
// q0 = b the next q is (3q) mod 256, so each digit costs a shift-add, a shift
// and a mask on int32 lanes, then the table {-d, 0, d} (vpermps).
// Quantize: trits as in TQ2_0; the base-3 number and ceil(q * 256 / 243) are
// small integers, exact in float (q * 256 + 242 < 2^16, and truncating the
// float quotient by 243 is exact because the fraction stays 1/243 from 1).
// The 16 elements of qh (6% of the block) use the scalar rule.

#include <cstddef>
#include <cstring>
#include <span>

#include "qmath/formats/reference.hpp"
#include "qmath/formats/tq1_0.hpp"
#include "qmath/kernels/detail/block_dispatch.hpp"
#include "qmath/kernels/quantize.hpp"

#if !QMATH_DISABLE_SIMD
#include "qmath/kernels/detail/lowbit_simd.hpp"
#endif

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::tq1_0> : simd_or_reference<block_kernel<formats::tq1_0>, formats::tq1_0> {
  using format = formats::tq1_0;
  using block = format::block;

#if !QMATH_DISABLE_SIMD
  // ceil(q * 256 / 243) of the base-3 number of `count` trits starting at
  // x[first], stride `stride`, as int32 lanes.
  template <class A>
  static lowbit_simd::i32<A> pack_lanes(const float* x, std::size_t stride, const lowbit_simd::f32<A>& inverse) {
    using F = lowbit_simd::f32<A>;
    const F half(0.5f), minus_half(-0.5f), zero(0.f), one(1.f), two(2.f), three(3.f);
    F q(0.f);
    for (std::size_t n = 0; n < 5; ++n) {
      const F v = F::load_unaligned(x + stride * n) * inverse;
      q = q * three + xsimd::select(v >= half, two, xsimd::select(v <= minus_half, zero, one));  // exact
    }
    const F fixed = simd::div(q * F(256.f) + F(242.f), F(243.f));  // IEEE on NEON too (xsimd_compat.hpp)
    return xsimd::batch_cast<std::int32_t>(fixed);  // truncates, as the integer division
  }

  template <class A>
  static void quantize_simd(std::span<const float> in, std::span<std::byte> out) {
    using F = lowbit_simd::f32<A>;
    static constexpr std::size_t N = F::size;
    static_assert(16 % N == 0);
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
      const float inverse_scalar = qmath::detail::lowbit::ternary_inverse_scale(max_abs);
      const F inverse(inverse_scalar);
      block out_block;
      out_block.d = qmath::detail::fp16_bits_from_float(max_abs);
      for (std::size_t m = 0; m < 32; m += N) lowbit_simd::narrow_u8<A>(pack_lanes<A>(x + m, 32, inverse), out_block.qs + m);
      for (std::size_t m = 0; m < 16; m += N)
        lowbit_simd::narrow_u8<A>(pack_lanes<A>(x + 160 + m, 16, inverse), out_block.qs + 32 + m);
      for (unsigned j = 0; j < 4; ++j) {
        std::uint8_t trits[4];
        for (unsigned n = 0; n < 4; ++n) trits[n] = qmath::detail::lowbit::ternary_code(x[240 + j + 4 * n] * inverse_scalar);
        out_block.qh[j] = format::pack_trits(trits, 4);
      }
      std::memcpy(out.data() + sizeof(block) * b, &out_block, sizeof(block));
    }
  }

  template <class A>
  static void dequantize_simd(std::span<const std::byte> in, std::span<float> out) {
    using I = lowbit_simd::i32<A>;
    static constexpr std::size_t N = I::size;
    static_assert(16 % N == 0);
    const I low_byte(0xFF);
    lowbit_simd::write_in_order<A>(out.data(), out.size(), [&](auto& sink) {
      for (std::size_t b = 0; b < out.size() / 256; ++b) {
        const auto* src = reinterpret_cast<const std::uint8_t*>(in.data()) + sizeof(block) * b;
        std::uint16_t d_bits;
        std::memcpy(&d_bits, src + 52, 2);
        const float d = lowbit_simd::half_to_float<A>(d_bits);
        const auto table = lowbit_simd::make_code_table<A>([d](const lowbit_simd::f32<A>& q) {
          return (q - lowbit_simd::f32<A>(1.f)) * lowbit_simd::f32<A>(d);  // (digit - 1) * d, as the reference
        });
        // qs[0..31]: digit n of byte m is element 32n + m; qs[32..47]: element
        // 160 + 16n + m. Digit n is the top of byte * 3^(n+1) (mod 256 after
        // each step), so all bytes of a run step together, in output order.
        const auto run = [&]<std::size_t count>(std::size_t first_byte) {
          I q[count / N];
          for (std::size_t c = 0; c < count / N; ++c) q[c] = lowbit_simd::widen_u8<A>(src + first_byte + N * c);
          for (std::size_t n = 0; n < 5; ++n)
            for (std::size_t c = 0; c < count / N; ++c) {
              const I times3 = q[c] + (q[c] << 1);
              sink.put(table(times3 >> 8));
              q[c] = times3 & low_byte;
            }
        };
        run.template operator()<32>(0);
        run.template operator()<16>(32);
        // qh[0..3]: digit n of byte j is element 240 + 4n + j.
        alignas(64) float tail[16];
        for (unsigned n = 0; n < 4; ++n)
          for (unsigned j = 0; j < 4; ++j) tail[4 * n + j] = static_cast<float>(format::digit(src[48 + j], n) - 1) * d;
        for (std::size_t c = 0; c < 16 / N; ++c) sink.put(lowbit_simd::f32<A>::load_aligned(tail + N * c));
      }
    });
  }
#endif
};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
