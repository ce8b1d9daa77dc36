#pragma once
// Array kernels of GGUF Q2_K (formats/q2_k.hpp): qmath::quantize<formats::q2_k>
// and qmath::dequantize<formats::q2_k>. Every architecture writes the bytes
// and floats of the scalar reference.
//
// Quantize: the reference's scale search (make_qkx2_quants) sums over the 16
// elements of a sub-block in order, so vectorising along the elements would
// change the roundings. Instead each lane runs the search of one sub-block:
// the block is transposed (lane j = sub-block j, step i = element i) and every
// lane does exactly the scalar sequence of float operations, with the
// branches turned into selects. The 4-bit scales, the super-scales and the
// final codes then follow the scalar reference (q2_k::finish_block).
// Dequantize: per sub-block the table {dl*q - ml : q = 0..3} (computed as the
// reference computes each output), then byte >> 2k looked up (vpermps).

#include <array>
#include <cstddef>
#include <cstring>
#include <span>

#include "qmath/formats/q2_k.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/detail/block_dispatch.hpp"
#include "qmath/kernels/quantize.hpp"

#if !QMATH_DISABLE_SIMD
#include "qmath/kernels/detail/lowbit_simd.hpp"
#endif

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::q2_k> : simd_or_reference<block_kernel<formats::q2_k>, formats::q2_k> {
  using format = formats::q2_k;
  using block = format::block;

#if !QMATH_DISABLE_SIMD
  // ggml's nearest_int on float lanes: add 1.5 * 2^23, read the low mantissa bits.
  template <class A>
  static lowbit_simd::i32<A> nearest_int(const lowbit_simd::f32<A>& v) {
    using I = lowbit_simd::i32<A>;
    const I bits = simd::bitcast<std::int32_t>(v + lowbit_simd::f32<A>(12582912.f));
    return (bits & I(0x007fffff)) - I(0x00400000);
  }

  template <class A>
  static lowbit_simd::f32<A> clamp_code(const lowbit_simd::i32<A>& l) {
    using I = lowbit_simd::i32<A>;
    return xsimd::batch_cast<float>(xsimd::min(xsimd::max(l, I(0)), I(3)));
  }

  // make_qkx2_quants(16, 3, x, |x|, ..., -0.5f, 0.1f, 15, true) for F::size
  // sub-blocks at once; xt[i] holds element i of each lane's sub-block.
  template <class A>
  static void fit_lanes(const lowbit_simd::f32<A>* xt, lowbit_simd::f32<A>& scale_out, lowbit_simd::f32<A>& min_out,
                        lowbit_simd::f32<A>* codes_out) {
    using F = lowbit_simd::f32<A>;
    using simd::no_contract;
    const F zero(0.f);
    F w[16];
    for (int i = 0; i < 16; ++i) w[i] = xsimd::abs(xt[i]);
    F min = xt[0], max = xt[0];
    F sum_w = w[0];
    F sum_x = no_contract(sum_w * xt[0]);
    for (int i = 1; i < 16; ++i) {
      min = xsimd::select(xt[i] < min, xt[i], min);
      max = xsimd::select(xt[i] > max, xt[i], max);
      sum_w = sum_w + w[i];
      sum_x = sum_x + no_contract(w[i] * xt[i]);
    }
    min = xsimd::select(min > zero, zero, min);
    const auto flat = max == min;
    // simd::div: IEEE division on every architecture (see xsimd_compat.hpp)
    F iscale = simd::div(F(3.f), max - min);
    F scale = simd::div(F(1.f), iscale);
    F best_error(0.f);
    F codes[16];
    for (int i = 0; i < 16; ++i) {
      codes[i] = clamp_code<A>(nearest_int<A>(no_contract(iscale * (xt[i] - min))));
      const F diff = (no_contract(scale * codes[i]) + min) - xt[i];
      best_error = best_error + no_contract(w[i] * xsimd::abs(diff));
    }
    F aux[16];
    for (int is = 0; is <= 15; ++is) {
      const float numerator = (-0.5f + qmath::detail::no_contract(0.1f * static_cast<float>(is))) + 3.f;
      iscale = simd::div(F(numerator), max - min);  // min moves when a candidate wins, as in the reference
      F sum_l(0.f), sum_l2(0.f), sum_xl(0.f);
      for (int i = 0; i < 16; ++i) {
        aux[i] = clamp_code<A>(nearest_int<A>(no_contract(iscale * (xt[i] - min))));
        const F wl = no_contract(w[i] * aux[i]);
        sum_l = sum_l + wl;
        sum_l2 = sum_l2 + no_contract(wl * aux[i]);
        sum_xl = sum_xl + no_contract(wl * xt[i]);
      }
      const F D = no_contract(sum_w * sum_l2) - no_contract(sum_l * sum_l);
      F this_scale = simd::div(no_contract(sum_w * sum_xl) - no_contract(sum_x * sum_l), D);
      F this_min = simd::div(no_contract(sum_l2 * sum_x) - no_contract(sum_l * sum_xl), D);
      const auto positive_min = this_min > zero;
      this_scale = xsimd::select(positive_min, simd::div(sum_xl, sum_l2), this_scale);
      this_min = xsimd::select(positive_min, zero, this_min);
      F cur_error(0.f);
      for (int i = 0; i < 16; ++i) {
        const F diff = (no_contract(this_scale * aux[i]) + this_min) - xt[i];
        cur_error = cur_error + no_contract(w[i] * xsimd::abs(diff));
      }
      const auto better = (D > zero) && (cur_error < best_error) && !flat;
      for (int i = 0; i < 16; ++i) codes[i] = xsimd::select(better, aux[i], codes[i]);
      best_error = xsimd::select(better, cur_error, best_error);
      scale = xsimd::select(better, this_scale, scale);
      min = xsimd::select(better, this_min, min);
    }
    scale_out = xsimd::select(flat, zero, scale);
    min_out = -min;
    for (int i = 0; i < 16; ++i) codes_out[i] = xsimd::select(flat, zero, codes[i]);
  }

  template <class A>
  static void quantize_simd(std::span<const float> in, std::span<std::byte> out) {
    using F = lowbit_simd::f32<A>;
    static constexpr std::size_t N = F::size;
    static_assert(16 % N == 0);
    for (std::size_t b = 0; b < in.size() / 256; ++b) {
      const float* x = in.data() + 256 * b;
      bool bad = false;
      for (std::size_t i = 0; i < 256; i += N) bad |= lowbit_simd::any_non_finite<A>(F::load_unaligned(x + i));
      if (bad) qmath::detail::gguf::require_finite_block<format>(in.subspan(256 * b, 256), b);
      // transposed[i][j] = element i of sub-block j
      alignas(A::alignment()) float transposed[16][16];
      for (std::size_t j = 0; j < 16; ++j)
        for (std::size_t i = 0; i < 16; ++i) transposed[i][j] = x[16 * j + i];
      std::array<format::sub_block_fit, 16> fits{};
      for (std::size_t lane0 = 0; lane0 < 16; lane0 += N) {
        F xt[16], codes[16], scale, min;
        for (std::size_t i = 0; i < 16; ++i) xt[i] = F::load_aligned(&transposed[i][lane0]);
        fit_lanes<A>(xt, scale, min, codes);
        alignas(A::alignment()) float lanes[N];
        scale.store_aligned(lanes);
        for (std::size_t k = 0; k < N; ++k) fits[lane0 + k].scale = lanes[k];
        min.store_aligned(lanes);
        for (std::size_t k = 0; k < N; ++k) fits[lane0 + k].min = lanes[k];
        for (std::size_t i = 0; i < 16; ++i) {
          codes[i].store_aligned(lanes);
          for (std::size_t k = 0; k < N; ++k) fits[lane0 + k].codes[i] = static_cast<std::uint8_t>(lanes[k]);
        }
      }
      // format::finish_block, lane-wise: the codes against the stored scales, then the packing.
      block out_block = format::make_header(fits);
      alignas(A::alignment()) float codes[256];
      const float d_all = qmath::detail::fp16_bits_to_float(out_block.d);
      const float dmin_all = qmath::detail::fp16_bits_to_float(out_block.dmin);
      for (std::size_t j = 0; j < 16; ++j) {
        const float d = d_all * static_cast<float>(out_block.scales[j] & 0xF);
        if (d == 0) {
          for (std::size_t i = 0; i < 16; ++i) codes[16 * j + i] = fits[j].codes[i];
          continue;
        }
        const float dm = dmin_all * static_cast<float>(out_block.scales[j] >> 4);
        for (std::size_t i = 0; i < 16; i += N)
          clamp_code<A>(nearest_int<A>(simd::div(F::load_unaligned(x + 16 * j + i) + F(dm), F(d))))
              .store_aligned(codes + 16 * j + i);
      }
      for (std::size_t h = 0; h < 2; ++h)
        for (std::size_t l = 0; l < 32; l += N) {
          const float* c = codes + 128 * h + l;
          const F byte_value = F::load_aligned(c) + F(4.f) * F::load_aligned(c + 32) + F(16.f) * F::load_aligned(c + 64) +
                               F(64.f) * F::load_aligned(c + 96);  // small integers: exact
          lowbit_simd::narrow_u8<A>(xsimd::batch_cast<std::int32_t>(byte_value), out_block.qs + 32 * h + l);
        }
      std::memcpy(out.data() + sizeof(block) * b, &out_block, sizeof(block));
    }
  }

  template <class A>
  static void dequantize_simd(std::span<const std::byte> in, std::span<float> out) {
    using I = lowbit_simd::i32<A>;
    static constexpr std::size_t N = I::size;
    static_assert(16 % N == 0);
    lowbit_simd::write_in_order<A>(out.data(), out.size(), [&](auto& sink) {
      for (std::size_t b = 0; b < out.size() / 256; ++b) {
        block blk;
        std::memcpy(&blk, in.data() + sizeof(block) * b, sizeof(block));
        const float d = lowbit_simd::half_to_float<A>(blk.d);
        const float dmin = lowbit_simd::half_to_float<A>(blk.dmin);
        // The 32 bytes of each 128 first, so the outputs are written in order.
        for (std::size_t h = 0; h < 2; ++h) {
          I bytes[32 / N];
          for (std::size_t c = 0; c < 32 / N; ++c) bytes[c] = lowbit_simd::widen_u8<A>(blk.qs + 32 * h + N * c);
          for (std::size_t k = 0; k < 4; ++k)
            for (std::size_t part = 0; part < 2; ++part) {  // sub-block 8h + 2k + part: elements 128h + 32k + 16part
              const std::uint8_t sc = blk.scales[8 * h + 2 * k + part];
              const float dl = d * static_cast<float>(sc & 0xF);
              const float ml = dmin * static_cast<float>(sc >> 4);
              const auto table = lowbit_simd::make_code_table<A>([dl, ml](const lowbit_simd::f32<A>& q) {
                return lowbit_simd::f32<A>(dl) * q - lowbit_simd::f32<A>(ml);  // as the reference (dl * q is exact)
              });
              for (std::size_t c = 16 * part / N; c < 16 * (part + 1) / N; ++c)
                sink.put(table(bytes[c] >> static_cast<std::int32_t>(2 * k)));
            }
        }
      }
    });
  }
#endif
};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
