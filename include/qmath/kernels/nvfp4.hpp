#pragma once
// Array kernels of GGUF NVFP4 (formats/nvfp4.hpp): qmath::quantize<formats::nvfp4>
// and qmath::dequantize<formats::nvfp4>. Every architecture writes the bytes
// and floats of the scalar reference.
//
// Dequantize: per 16 elements the table kvalues_fp4 * scale, looked up by
// the 8 low then the 8 high nibbles of the sub-block's bytes (vpermps).

#include <cstddef>
#include <span>

#include "qmath/formats/nvfp4.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/detail/block_dispatch.hpp"
#include "qmath/kernels/quantize.hpp"

#if !QMATH_DISABLE_SIMD
#include "qmath/kernels/detail/kquant_simd.hpp"
#endif

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::nvfp4> : simd_or_reference<block_kernel<formats::nvfp4>, formats::nvfp4> {
  using format = formats::nvfp4;

#if !QMATH_DISABLE_SIMD
  template <class A>
  static void dequantize_simd(std::span<const std::byte> in, std::span<float> out) {
    using I = kquant_simd::i32<A>;
    if constexpr (!kquant_simd::enabled<A>) {
      qmath::detail::reference_dequantize_blocks<format>(in, out, 0, out.size() / 64);
    } else {
      const kquant_simd::table_values<A, float (*)(unsigned)> values(
          [](unsigned k) { return qmath::detail::fp4::value(k); });
      kquant_simd::dequantize_blocks<format, A>(in, out, [&values](const format::block& b, auto& sink) {
        for (std::size_t s = 0; s < 4; ++s) {
          const kquant_simd::table16<A> table(values.v, qmath::detail::fp4::ue4m3_half_to_float(b.d[s]));
          // The 16 codes of sub-block s in element order: 8 low nibbles, 8 high.
          alignas(16) std::uint8_t codes[16];
          for (std::size_t j = 0; j < 8; ++j) {
            codes[j] = b.qs[8 * s + j] & 0xF;
            codes[j + 8] = static_cast<std::uint8_t>(b.qs[8 * s + j] >> 4);
          }
          for (std::size_t c = 0; c < 16 / I::size; ++c) sink.put(table(lowbit_simd::widen_u8<A>(codes + I::size * c)));
        }
      });
    }
  }
#endif
};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
