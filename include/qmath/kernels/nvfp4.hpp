#pragma once
// Array kernels of GGUF NVFP4 (formats/nvfp4.hpp): qmath::quantize<formats::nvfp4>
// and qmath::dequantize<formats::nvfp4>. Every architecture writes the bytes
// and floats of the scalar reference.
//
// Dequantize: per 16 elements the table kvalues_fp4 * scale (the scale
// decoded through a 256-entry table of ggml_ue4m3_to_fp32), looked up by the 8
// low then the 8 high nibbles of the sub-block's bytes (vpermps).

#include <array>
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
  // ue4m3_to_fp32 of every scale byte.
  static constexpr auto ue4m3_half = [] {
    std::array<float, 256> t{};
    for (unsigned i = 0; i < 256; ++i) t[i] = qmath::detail::fp4::ue4m3_half_to_float(static_cast<std::uint8_t>(i));
    return t;
  }();

  template <class A>
    requires kquant_simd::enabled<A>
  static void dequantize_simd(std::span<const std::byte> in, std::span<float> out) {
    using I = kquant_simd::i32<A>;
    const kquant_simd::table_values<A, float (*)(unsigned)> values(
        [](unsigned k) { return qmath::detail::fp4::value(k); });
    kquant_simd::dequantize_blocks<format, A>(in, out, [&values](const format::block& b, auto& sink) {
      for (std::size_t s = 0; s < 4; ++s) {
        const kquant_simd::table16<A> table(values.v, ue4m3_half[b.d[s]]);
        const std::uint8_t* q = b.qs + 8 * s;
#if XSIMD_WITH_AVX512BW
        if constexpr (lowbit_simd::use_avx512<A>) {
          // 8 bytes -> 8 low nibbles then 8 high nibbles, as 16 int32 lanes.
          const __m128i raw = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(q));
          const __m128i mask = _mm_set1_epi8(0x0f);
          const __m128i nibbles = _mm_unpacklo_epi64(_mm_and_si128(raw, mask), _mm_and_si128(_mm_srli_epi16(raw, 4), mask));
          sink.put(table(I(_mm512_cvtepu8_epi32(nibbles))));
        } else
#endif
        {
          const I bytes = lowbit_simd::widen_u8<A>(q);  // 8 lanes (AVX2)
          sink.put(table(bytes & I(0xF)));
          sink.put(table(bytes >> 4));
        }
      }
    });
  }
#endif
};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
