#pragma once
// Array kernels of qmath's group-wise INT2 (formats/group_int2.hpp):
// qmath::quantize<formats::int2_group<G>> and dequantize. Every architecture
// writes the bytes and floats of the scalar reference.
//
// Dequantize: the G/4 code bytes are widened once; bit plane s (outputs
// s*G/4 .. s*G/4 + G/4) is (byte >> 2s) looked up in {q*d + m : q = 0..3}.
// Quantize: min and max are exact in any order (zeros are made +0 by the
// header rule), the codes are the reference's division, clamp and
// round-half-even per lane, and four planes combine to a byte in float.
// When G/4 is not a multiple of the vector width (G = 16, 32, 48, ... on
// AVX-512) the group runs the scalar reference.

#include <cstddef>
#include <cstring>
#include <span>

#include "qmath/formats/group_int2.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/detail/block_dispatch.hpp"
#include "qmath/kernels/quantize.hpp"

#if !QMATH_DISABLE_SIMD
#include "qmath/kernels/detail/lowbit_simd.hpp"
#endif

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <std::uint32_t G>
struct block_kernel<formats::int2_group<G>>
    : simd_or_reference<block_kernel<formats::int2_group<G>>, formats::int2_group<G>> {
  using format = formats::int2_group<G>;
  using block = typename format::block;
  static constexpr std::size_t plane = format::plane;

#if !QMATH_DISABLE_SIMD
  // SIMD when a bit plane is a whole number of vectors (G = 64 on AVX-512);
  // other group sizes run the reference.
  template <class A>
    requires(plane % lowbit_simd::f32<A>::size == 0)
  static void quantize_simd(std::span<const float> in, std::span<std::byte> out) {
    using F = lowbit_simd::f32<A>;
    static constexpr std::size_t N = F::size;
    for (std::size_t b = 0; b < in.size() / G; ++b) {
      const float* x = in.data() + G * b;
      F lo = F::load_unaligned(x), hi = lo;
      bool bad = false;
      for (std::size_t i = 0; i < G; i += N) {
        const F v = F::load_unaligned(x + i);
        bad |= lowbit_simd::any_non_finite<A>(v);
        lo = xsimd::min(lo, v);
        hi = xsimd::max(hi, v);
      }
      if (bad) qmath::detail::gguf::require_finite_block<format>(in.subspan(G * b, G), b);
      alignas(A::alignment()) float lanes_lo[N], lanes_hi[N];
      lo.store_aligned(lanes_lo);
      hi.store_aligned(lanes_hi);
      float low = lanes_lo[0], high = lanes_hi[0];
      for (std::size_t k = 1; k < N; ++k) {
        low = lanes_lo[k] < low ? lanes_lo[k] : low;
        high = lanes_hi[k] > high ? lanes_hi[k] : high;
      }
      block out_block = format::make_header(low, high);
      const float m = qmath::detail::fp16_bits_to_float(out_block.m);
      const float d = qmath::detail::fp16_bits_to_float(out_block.d);
      if (d == 0.f) {
        std::memset(out_block.qs, 0, plane);
      } else {
        const F vm(m), vd(d), zero(0.f), three(3.f);
        for (std::size_t j = 0; j < plane; j += N) {
          F byte_value(0.f);
          float weight = 1.f;
          for (std::size_t s = 0; s < 4; ++s, weight *= 4.f) {
            F v = simd::div(F::load_unaligned(x + s * plane + j) - vm, vd);  // IEEE on NEON too
            v = xsimd::select(v > zero, xsimd::select(v < three, v, three), zero);
            byte_value += xsimd::batch_cast<float>(xsimd::nearbyint_as_int(v)) * F(weight);  // exact
          }
          lowbit_simd::narrow_u8<A>(xsimd::batch_cast<std::int32_t>(byte_value), out_block.qs + j);
        }
      }
      std::memcpy(out.data() + sizeof(block) * b, &out_block, sizeof(block));
    }
  }

  template <class A>
    requires(plane % lowbit_simd::f32<A>::size == 0)
  static void dequantize_simd(std::span<const std::byte> in, std::span<float> out) {
    using I = lowbit_simd::i32<A>;
    static constexpr std::size_t N = I::size;
    lowbit_simd::write_in_order<A>(out.data(), out.size(), [&](auto& sink) {
      for (std::size_t b = 0; b < out.size() / G; ++b) {
        const auto* src = reinterpret_cast<const std::uint8_t*>(in.data()) + sizeof(block) * b;
        std::uint16_t header[2];
        std::memcpy(header, src, 4);
        const float d = lowbit_simd::half_to_float<A>(header[0]);
        const float m = lowbit_simd::half_to_float<A>(header[1]);
        const auto table = lowbit_simd::make_code_table<A>([d, m](const lowbit_simd::f32<A>& q) {
          return q * lowbit_simd::f32<A>(d) + lowbit_simd::f32<A>(m);  // q * d + m, as the reference (q * d is exact)
        });
        // Plane by plane, so the outputs are written in order; the code bytes
        // are re-read from L1 for each plane.
        for (std::int32_t s = 0; s < 4; ++s)
          for (std::size_t j = 0; j < plane; j += N) sink.put(table(lowbit_simd::widen_u8<A>(src + 4 + j) >> (2 * s)));
      }
    });
  }
#endif
};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
