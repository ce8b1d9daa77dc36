#pragma once
// Private SIMD building blocks of the K-quant, IQ4_XS and FP4 dequantizers
// (kernels/q3_k.hpp .. nvfp4.hpp). Every function is a template on the xsimd
// architecture. The kernels run on AVX-512BW and AVX2 (lowbit_simd's widening
// loads and in-order writers); other architectures run the scalar reference.
//
// Every output is computed with the reference's own float operations: a
// product of a scale and a small integer code (exact, or the same single
// rounding), minus an exact min product where the format has one, so a
// fused multiply-subtract gives the same float. Table formats (IQ4_XS, MXFP4,
// NVFP4) multiply the 16 code values by the scale once per sub-block, the
// same products the reference forms per element, and look them up.
// Include the kernel headers instead.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "qmath/kernels/detail/lowbit_simd.hpp"

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels::kquant_simd {

using lowbit_simd::f32;
using lowbit_simd::i32;

template <class A>
inline constexpr bool enabled = lowbit_simd::use_avx512<A> || lowbit_simd::use_avx2<A>;

// i32<A>::size bytes as signed int32 lanes.
template <class A>
inline i32<A> widen_s8(const std::uint8_t* p) noexcept {
#if XSIMD_WITH_AVX512BW
  if constexpr (lowbit_simd::use_avx512<A>) return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
#endif
#if XSIMD_WITH_AVX2
  if constexpr (!lowbit_simd::use_avx512<A> && lowbit_simd::use_avx2<A>)
    return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
#endif
  return (lowbit_simd::widen_u8<A>(p) ^ i32<A>(0x80)) - i32<A>(0x80);
}

// y = dl * q - ml on lanes of small integer codes (dl * q exact in every caller).
template <class A>
inline f32<A> scale_min(const i32<A>& q, float dl, float ml) noexcept {
  return f32<A>(dl) * xsimd::batch_cast<float>(q) - f32<A>(ml);
}
template <class A>
inline f32<A> scale(const i32<A>& q, float dl) noexcept {
  return f32<A>(dl) * xsimd::batch_cast<float>(q);
}

// A 16-entry float table looked up by int32 lanes in 0..15 (vpermps).
template <class A>
struct table16 {
#if XSIMD_WITH_AVX512BW
  __m512 all;
#endif
#if XSIMD_WITH_AVX2
  __m256 lo, hi;
#endif
  // entries[k] = values[k] * scale, each product rounded as the reference's.
  table16([[maybe_unused]] const f32<A>* values, [[maybe_unused]] float factor) noexcept {
#if XSIMD_WITH_AVX512BW
    if constexpr (lowbit_simd::use_avx512<A>) all = values[0] * f32<A>(factor);
#endif
#if XSIMD_WITH_AVX2
    if constexpr (!lowbit_simd::use_avx512<A> && lowbit_simd::use_avx2<A>) {
      lo = values[0] * f32<A>(factor);
      hi = values[1] * f32<A>(factor);
    }
#endif
  }
  // entries[k] given as 16 / f32<A>::size batches.
  explicit table16([[maybe_unused]] const f32<A>* entries, int) noexcept {
#if XSIMD_WITH_AVX512BW
    if constexpr (lowbit_simd::use_avx512<A>) all = entries[0];
#endif
#if XSIMD_WITH_AVX2
    if constexpr (!lowbit_simd::use_avx512<A> && lowbit_simd::use_avx2<A>) {
      lo = entries[0];
      hi = entries[1];
    }
#endif
  }
  f32<A> operator()([[maybe_unused]] const i32<A>& idx) const noexcept {
#if XSIMD_WITH_AVX512BW
    if constexpr (lowbit_simd::use_avx512<A>) return _mm512_permutexvar_ps(idx, all);
#endif
#if XSIMD_WITH_AVX2
    if constexpr (!lowbit_simd::use_avx512<A> && lowbit_simd::use_avx2<A>) {
      const __m256i i = idx;
      return _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo, i), _mm256_permutevar8x32_ps(hi, i),
                              _mm256_castsi256_ps(_mm256_cmpgt_epi32(i, _mm256_set1_epi32(7))));
    }
#endif
    return f32<A>(0.f);
  }
};

// The table {dl * q - ml : q = 0..15} of an asymmetric 4-bit sub-block, each
// entry the reference's formula on its code.
template <class A>
inline table16<A> affine_table(const f32<A>* codes, float dl, float ml) noexcept {
  f32<A> entries[16 / f32<A>::size];
  for (std::size_t i = 0; i < 16 / f32<A>::size; ++i) entries[i] = f32<A>(dl) * codes[i] - f32<A>(ml);
  return table16<A>(entries, 0);
}

// The 16 values of a code table as the batches table16 takes.
template <class A, class Value>
struct table_values {
  f32<A> v[16 / f32<A>::size];
  explicit table_values(Value value) noexcept {
    alignas(64) float t[16];
    for (unsigned k = 0; k < 16; ++k) t[k] = value(k);
    for (std::size_t i = 0; i < 16 / f32<A>::size; ++i) v[i] = f32<A>::load_aligned(t + i * f32<A>::size);
  }
};

// The block loop every dequantizer shares: body(block, sink) for each block
// in order, the sink taking the block's outputs in order (lowbit_simd).
template <class F, class A, class Body>
inline void dequantize_blocks(std::span<const std::byte> in, std::span<float> out, Body&& body) {
  using block = typename F::block;
  const std::size_t blocks = out.size() / F::info.block_elems;
  lowbit_simd::write_in_order<A>(out.data(), out.size(), [&](auto& sink) {
    for (std::size_t b = 0; b < blocks; ++b) {
      block blk;
      std::memcpy(&blk, in.data() + sizeof(block) * b, sizeof(block));
      body(blk, sink);
    }
  });
}

}  // namespace qmath::kernels::kquant_simd

#include "qmath/kernels/detail/diagnostics_end.hpp"
