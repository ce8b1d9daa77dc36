#pragma once
// Private: how the x86 dequantizers write their float output, in one place.
//
// A dequantizer writes 4 to 8 bytes for every byte it reads. Small outputs are
// written with ordinary stores, each output line prefetched for writing 1 KiB
// ahead (prefetchw), so that a store does not wait for the read-for-ownership
// of its line. Outputs of stream_threshold_bytes or more do not fit in the
// caches: they are written with non-temporal (streaming) stores, which go past
// the caches without reading each line first. Those need aligned addresses, so
// a writer whose output does not start on a line boundary shifts the batches
// it is given into aligned lines (one two-source permute per line), writes the
// partial first and last lines with masked ordinary stores, and ends with
// sfence (streaming stores are weakly ordered).
//
// A kernel creates a writer over its output and hands it the result vectors in
// output order, 16 floats (one 64-byte line) per put; dequantize_to_512() /
// dequantize_to_256() pick the writer for the output's size. Every function is a template on the
// architecture tag (see kernels/arch.hpp). Include the kernel headers instead.

#include <cstddef>
#include <cstdint>

#include "qmath/config.hpp"
#include "qmath/kernels/detail/call_size.hpp"

#if !QMATH_DISABLE_SIMD
#include "qmath/kernels/xsimd_compat.hpp"
#if XSIMD_WITH_AVX2 || XSIMD_WITH_AVX512F
#include <immintrin.h>
#endif
#endif

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels::stream_store {

// Outputs at least this large are streamed: well past the last-level cache of
// the machines qmath targets, so a cached write would only evict the input.
inline constexpr std::size_t stream_threshold_bytes = std::size_t{16} << 20;
inline constexpr std::size_t prefetch_distance = 1024;  // bytes ahead of the store

// n_floats: this call's part; a part of a larger call split over threads is
// written the way the whole call would be (detail::call_elements).
inline bool worth_streaming(std::size_t n_floats) noexcept {
  return detail::call_elements(n_floats) * sizeof(float) >= stream_threshold_bytes;
}

#if !QMATH_DISABLE_SIMD && (XSIMD_WITH_AVX2 || XSIMD_WITH_AVX512F)
// Asks for the output line `ahead` bytes past `p` in a writable state. The
// address is formed as an integer, so running past the end is harmless.
template <class Arch>
inline void prefetch_for_write(const float* p, std::size_t ahead = prefetch_distance) noexcept {
  _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(p) + ahead), _MM_HINT_ET0);
}

// Floats between the previous `line_bytes` boundary and p.
template <std::size_t line_bytes>
inline unsigned floats_past_boundary(const float* p) noexcept {
  return static_cast<unsigned>(reinterpret_cast<std::uintptr_t>(p) % line_bytes / sizeof(float));
}
// p moved by `floats` (possibly before the output's start: only used as an address).
inline float* offset_address(float* p, std::ptrdiff_t floats) noexcept {
  return reinterpret_cast<float*>(reinterpret_cast<std::uintptr_t>(p) +
                                  static_cast<std::uintptr_t>(floats * static_cast<std::ptrdiff_t>(sizeof(float))));
}
#endif

#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX512F
// 16 floats per put. Stream = false: storeu + prefetchw. Stream = true: the
// output is written in aligned 64-byte lines with _mm512_stream_ps.
template <class Arch, bool Stream>
class writer512 {
 public:
  explicit writer512(float* out) noexcept : next_(out) {
    if constexpr (Stream) {
      shift_ = floats_past_boundary<64>(out);
      next_ = offset_address(out, -static_cast<std::ptrdiff_t>(shift_));  // the line holding out[0]
      // Line lane j takes element 16 - shift + j of (previous batch, this batch).
      realign_ = _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                  _mm512_set1_epi32(static_cast<int>(16 - shift_)));
      carry_ = _mm512_setzero_ps();
    }
  }

  void put(__m512 v) noexcept {
    if constexpr (!Stream) {
      prefetch_for_write<Arch>(next_);
      _mm512_storeu_ps(next_, v);
    } else if (shift_ == 0) {
      _mm512_stream_ps(next_, v);
    } else {
      const __m512 line = _mm512_permutex2var_ps(carry_, realign_, v);
      if (first_) {  // lanes before out[0] are not the output's
        _mm512_mask_storeu_ps(next_, static_cast<__mmask16>(0xffffu << shift_), line);
        first_ = false;
      } else {
        _mm512_stream_ps(next_, line);
      }
      carry_ = v;
    }
    next_ += 16;
  }

  // Writes what is still held back and orders the streaming stores before
  // whatever the caller does next.
  void finish() noexcept {
    if constexpr (Stream) {
      if (shift_ != 0 && !first_)
        _mm512_mask_storeu_ps(next_, static_cast<__mmask16>((1u << shift_) - 1),
                              _mm512_permutex2var_ps(carry_, realign_, carry_));
      _mm_sfence();
    }
  }

 private:
  float* next_;
  unsigned shift_ = 0;
  bool first_ = true;
  __m512 carry_;
  __m512i realign_;
};
#endif

#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
// 16 floats (two halves) per put. Stream = true: aligned 32-byte
// _mm256_stream_ps; each batch is rotated by the output's offset and blended
// with the previous one.
template <class Arch, bool Stream>
class writer256 {
 public:
  explicit writer256(float* out) noexcept : next_(out) {
    if constexpr (Stream) {
      shift_ = floats_past_boundary<32>(out);
      next_ = offset_address(out, -static_cast<std::ptrdiff_t>(shift_));
      const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
      rotate_ = _mm256_and_si256(_mm256_sub_epi32(lane, _mm256_set1_epi32(static_cast<int>(shift_))),
                                 _mm256_set1_epi32(7));
      // All ones in the lanes j < shift, which take the previous batch's tail.
      from_carry_ = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(shift_)), lane);
      carry_ = _mm256_setzero_ps();
    }
  }

  void put(__m256 lo, __m256 hi) noexcept {
    if constexpr (!Stream) {
      prefetch_for_write<Arch>(next_);
      _mm256_storeu_ps(next_, lo);
      _mm256_storeu_ps(next_ + 8, hi);
      next_ += 16;
    } else {
      put_half(lo);
      put_half(hi);
    }
  }

  void finish() noexcept {
    if constexpr (Stream) {
      if (shift_ != 0 && !first_) _mm256_maskstore_ps(next_, from_carry_, carry_);
      _mm_sfence();
    }
  }

 private:
  void put_half(__m256 v) noexcept {
    if (shift_ == 0) {
      _mm256_stream_ps(next_, v);
    } else {
      const __m256 rotated = _mm256_permutevar8x32_ps(v, rotate_);  // lane j: v[(j - shift) mod 8]
      const __m256 line = _mm256_blendv_ps(rotated, carry_, _mm256_castsi256_ps(from_carry_));
      if (first_) {
        _mm256_maskstore_ps(next_, _mm256_xor_si256(from_carry_, _mm256_set1_epi32(-1)), line);
        first_ = false;
      } else {
        _mm256_stream_ps(next_, line);
      }
      carry_ = rotated;
    }
    next_ += 8;
  }

  float* next_;
  unsigned shift_ = 0;
  bool first_ = true;
  __m256 carry_;
  __m256i rotate_;
  __m256i from_carry_;
};
#endif

// Runs body(writer) with the writer that suits an output of n floats at out:
// streaming from stream_threshold_bytes on, ordinary stores below.
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX512F
template <class Arch, class Body>
inline void dequantize_to_512(float* out, std::size_t n, Body&& body) {
  if (worth_streaming(n)) {
    writer512<Arch, true> w(out);
    body(w);
    w.finish();
  } else {
    writer512<Arch, false> w(out);
    body(w);
  }
}
#endif
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
template <class Arch, class Body>
inline void dequantize_to_256(float* out, std::size_t n, Body&& body) {
  if (worth_streaming(n)) {
    writer256<Arch, true> w(out);
    body(w);
    w.finish();
  } else {
    writer256<Arch, false> w(out);
    body(w);
  }
}
#endif

}  // namespace qmath::kernels::stream_store

#include "qmath/kernels/detail/diagnostics_end.hpp"
