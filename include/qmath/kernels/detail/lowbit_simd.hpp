#pragma once
// Private SIMD building blocks of the 2-bit and ternary kernels (TQ1_0, TQ2_0,
// Q2_K, int2_group). Every function is a template on the xsimd architecture.
// xsimd 8.1 has no u8 -> i32 widening, no i32 -> u8 narrowing and no runtime
// table lookup, so each of those has AVX-512 and AVX2 overloads written with
// intrinsics beside a generic xsimd (or lane-by-lane) version that every
// architecture can use. Include the kernel headers instead.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "qmath/fp/fp16.hpp"
#include "qmath/kernels/detail/stream_store.hpp"
#include "qmath/kernels/xsimd_compat.hpp"

#if XSIMD_WITH_AVX2 || XSIMD_WITH_AVX512F
#include <immintrin.h>
#endif

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels::lowbit_simd {

template <class A>
using f32 = xsimd::batch<float, A>;
template <class A>
using i32 = xsimd::batch<std::int32_t, A>;

template <class A>
inline constexpr bool use_avx512 =
#if XSIMD_WITH_AVX512BW
    std::is_base_of_v<xsimd::avx512bw, A>;
#else
    false;
#endif

template <class A>
inline constexpr bool use_avx2 =
#if XSIMD_WITH_AVX2
    std::is_base_of_v<xsimd::avx2, A>;
#else
    false;
#endif

// The lane-by-lane versions, used by architectures without an overload.
template <class A>
inline i32<A> widen_u8_generic(const std::uint8_t* p) noexcept {
  alignas(A::alignment()) std::int32_t lanes[i32<A>::size];
  for (std::size_t i = 0; i < i32<A>::size; ++i) lanes[i] = p[i];
  return i32<A>::load_aligned(lanes);
}

template <class A>
inline void narrow_u8_generic(const i32<A>& v, std::uint8_t* p) noexcept {
  alignas(A::alignment()) std::int32_t lanes[i32<A>::size];
  v.store_aligned(lanes);
  for (std::size_t i = 0; i < i32<A>::size; ++i) p[i] = static_cast<std::uint8_t>(lanes[i]);
}

// Loads i32<A>::size bytes as int32 lanes.
template <class A>
inline i32<A> widen_u8(const std::uint8_t* p) noexcept {
#if XSIMD_WITH_AVX512BW
  if constexpr (use_avx512<A>) {
    return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  } else
#endif
#if XSIMD_WITH_AVX2
      if constexpr (use_avx2<A>) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  } else
#endif
  {
    return widen_u8_generic<A>(p);
  }
}

// Stores int32 lanes holding 0..255 as i32<A>::size bytes.
template <class A>
inline void narrow_u8(const i32<A>& v, std::uint8_t* p) noexcept {
#if XSIMD_WITH_AVX512BW
  if constexpr (use_avx512<A>) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm512_cvtepi32_epi8(v));
  } else
#endif
#if XSIMD_WITH_AVX2
      if constexpr (use_avx2<A>) {
    const __m256i reg = v;
    const __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(reg), _mm256_extracti128_si256(reg, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_packus_epi16(words, words));
  } else
#endif
  {
    narrow_u8_generic<A>(v, p);
  }
}

// The output for code q = idx & 3 in every lane, where `formula` maps a
// batch of codes (as floats) to outputs with the scalar reference's own
// float operations, e.g. (q - 1) * d for TQ2_0. On AVX-512 / AVX2 the formula
// runs once, on the lanes {0, 1, 2, 3, 0, 1, ...}, and each lookup is one
// vpermps (which reads the low 4 / 3 index bits, so idx needs no masking);
// elsewhere it runs on every batch. Either way each output is the formula
// evaluated on its code, so the lookup is bit-exact by construction.
template <class A, class Formula>
struct code_table {
  static constexpr bool permutes = use_avx512<A> || use_avx2<A>;
  Formula formula;
  f32<A> lanes;

  explicit code_table(Formula f) noexcept : formula(f), lanes(0.f) {
    if constexpr (permutes) {
      alignas(A::alignment()) float codes[f32<A>::size];
      for (std::size_t i = 0; i < f32<A>::size; ++i) codes[i] = static_cast<float>(i & 3);
      lanes = formula(f32<A>::load_aligned(codes));
    }
  }

  f32<A> operator()(const i32<A>& idx) const noexcept {
#if XSIMD_WITH_AVX512BW
    if constexpr (use_avx512<A>) {
      return _mm512_permutexvar_ps(idx, lanes);
    } else
#endif
#if XSIMD_WITH_AVX2
        if constexpr (use_avx2<A>) {
      return _mm256_permutevar8x32_ps(lanes, idx);
    } else
#endif
    {
      return formula(xsimd::batch_cast<float>(idx & i32<A>(3)));
    }
  }
};

template <class A, class Formula>
inline code_table<A, Formula> make_code_table(Formula formula) noexcept {
  return code_table<A, Formula>(formula);
}

// fp16 bits to float: vcvtph2ps where the target has F16C, which is exact
// and quiets NaN as qmath::detail::fp16_bits_to_float does (fp/fp16.hpp).
template <class A>
inline float half_to_float(std::uint16_t bits) noexcept {
#if defined(__F16C__)
  if constexpr (use_avx512<A> || use_avx2<A>) return _cvtsh_ss(bits);
#endif
  return qmath::detail::fp16_bits_to_float(bits);
}

// True when any lane is NaN or +-Inf.
template <class A>
inline bool any_non_finite(const f32<A>& v) noexcept {
  return xsimd::any(!(xsimd::abs(v) <= f32<A>(std::numeric_limits<float>::max())));
}

// The sinks a dequantizer hands its output vectors to, in output order, one
// f32<A> per put. On AVX-512 / AVX2 they feed stream_store's writers (64-byte
// lines: streaming stores for outputs past the caches, prefetchw below), so
// the kernels reach the write bandwidth of the GGUF kernels; elsewhere they
// are plain unaligned stores.
template <class A, class Writer>
struct line_sink_512 {
  Writer& writer;
  void put(const f32<A>& v) noexcept { writer.put(v); }
};

template <class A, class Writer>
struct line_sink_256 {  // the 256-bit writer takes a 64-byte line as two halves
  Writer& writer;
  f32<A> low_half = f32<A>(0.f);
  bool holds_low_half = false;
  void put(const f32<A>& v) noexcept {
    if (holds_low_half) writer.put(low_half, v);
    else low_half = v;
    holds_low_half = !holds_low_half;
  }
};

template <class A>
struct plain_sink {
  float* next;
  void put(const f32<A>& v) noexcept {
    v.store_unaligned(next);
    next += f32<A>::size;
  }
};

// Runs body(sink) over the n floats at out. Body must put exactly n floats,
// and n must be a multiple of 16 (one output line).
template <class A, class Body>
inline void write_in_order(float* out, std::size_t n, Body&& body) {
#if XSIMD_WITH_AVX512BW
  if constexpr (use_avx512<A>) {
    stream_store::dequantize_to_512<A>(out, n, [&](auto& writer) {
      line_sink_512<A, std::remove_reference_t<decltype(writer)>> sink{writer};
      body(sink);
    });
  } else
#endif
#if XSIMD_WITH_AVX2
      if constexpr (use_avx2<A>) {
    stream_store::dequantize_to_256<A>(out, n, [&](auto& writer) {
      line_sink_256<A, std::remove_reference_t<decltype(writer)>> sink{writer};
      body(sink);
    });
  } else
#endif
  {
    static_cast<void>(n);  // only the streaming writers above need the size
    plain_sink<A> sink{out};
    body(sink);
  }
}

}  // namespace qmath::kernels::lowbit_simd

#include "qmath/kernels/detail/diagnostics_end.hpp"
