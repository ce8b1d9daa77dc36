#pragma once
// Private: what the x86 kernels of the GGUF 32-element block formats share.
// Every function is a template on the architecture tag (see kernels/arch.hpp)
// so that translation units built with different -m flags never share a
// symbol. xsimd 8.1 has no widening or narrowing casts, masks or 8-bit
// swizzles on AVX2, so the kernels use intrinsics on the batches' registers,
// guarded by xsimd's XSIMD_WITH_* macros; architectures without such a path
// run the scalar reference. Include the kernel headers instead.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#include "qmath/config.hpp"
#include "qmath/formats/detail/block_io.hpp"
#include "qmath/formats/detail/gguf_common.hpp"
#include "qmath/fp/fp16.hpp"
#include "qmath/kernels/detail/stream_store.hpp"

#if !QMATH_DISABLE_SIMD
#include "qmath/kernels/xsimd_compat.hpp"
#if XSIMD_WITH_AVX2 || XSIMD_WITH_AVX512BW
#include <immintrin.h>
#endif
#endif

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels::gguf_simd {

enum class path { reference, avx2, avx512bw };

// The kernel path an architecture tag selects.
template <class Arch>
constexpr path path_of() noexcept {
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX512BW
  if constexpr (std::is_base_of_v<xsimd::avx512bw, Arch>) return path::avx512bw;
#endif
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
  if constexpr (std::is_base_of_v<xsimd::avx2, Arch>) return path::avx2;
#endif
  return path::reference;
}

// fp16 scale bits <-> float: F16C where the build has it (bit for bit the
// same as qmath's constexpr conversions, fp/fp16.hpp), else those conversions.
template <class Arch>
inline float half_to_float(std::uint16_t bits) noexcept {
#if !QMATH_DISABLE_SIMD && defined(__F16C__)
  return _cvtsh_ss(bits);
#else
  return detail::fp16_bits_to_float(bits);
#endif
}

template <class Arch>
inline std::uint16_t float_to_half(float value) noexcept {
#if !QMATH_DISABLE_SIMD && defined(__F16C__)
  return static_cast<std::uint16_t>(_cvtss_sh(value, 0));  // imm 0: round to nearest even
#else
  return detail::fp16_bits_from_float(value);
#endif
}

inline constexpr std::uint32_t non_finite_bits = 0x7f800000u;  // |x| bits at or above: Inf or NaN

// Throws the reference's error for block `b` (called once a kernel has seen a
// non-finite value in it). Which earlier blocks are already written is left
// open: a kernel may check a group of blocks before writing any of them.
template <class F>
[[noreturn]] inline void reject_block(std::span<const float> in, std::size_t b) {
  constexpr std::size_t elems = F::info.block_elems;
  detail::gguf::require_finite_block<F>(in.subspan(b * elems).template first<elems>(), b);
  detail::precondition_failed("qmath::quantize", F::info.name, " block ", b, " holds a non-finite value");
}

// Throws for the first of the `count` blocks from `first` that holds a NaN or
// Inf (a kernel has seen one among them). The group kernels decide with vector
// reductions and find the block here, in scalar code: with 16-bit compare
// masks converted to integers, g++ 12 -O1 -fsanitize=address,undefined was
// seen to reload a spilled mask with a 32-bit read, upper garbage included.
template <class F>
[[noreturn]] inline void reject_first_bad_block(std::span<const float> in, std::size_t first, std::size_t count) {
  constexpr std::size_t elems = F::info.block_elems;
  for (std::size_t b = first; b + 1 < first + count; ++b)
    if (detail::gguf::first_non_finite(in.subspan(b * elems, elems)) != elems) reject_block<F>(in, b);
  reject_block<F>(in, first + count - 1);
}

// Block b through the scalar reference (the rare blocks a kernel leaves to it).
template <class F>
inline void reference_block(std::span<const float> in, std::span<std::byte> out, std::size_t b) {
  constexpr std::size_t elems = F::info.block_elems;
  detail::store_block(F::quantize_block(in.subspan(b * elems).template first<elems>()), out, b);
}

// Scale of an asymmetric block (Q4_1: levels 15, Q5_1: 31), as the reference
// computes it: d = (max - min) / levels and id = d ? 1/d : 0 in float. The
// blocks the reference handles on its own, a zero min or max (the sign of a
// zero min is stored) or a d or 1/d that is not finite, go to it
// (reference == true).
struct asymmetric_scale {
  float d, id;
  bool reference;
};
inline asymmetric_scale asymmetric_scale_of(float min, float max, float levels) noexcept {
  const float d = (max - min) / levels;
  const float id = detail::gguf::inverse_or_zero(d);
  return {d, id, min == 0.0f || max == 0.0f || !detail::gguf::is_finite(d) || !detail::gguf::is_finite(id)};
}

#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX512BW
// The multiply result as a rounded float that GCC may not fuse into the add or
// subtract that consumes it (see simd::no_contract).
template <class Arch>
inline __m512 no_contract(__m512 x) noexcept {
  return simd::no_contract(xsimd::batch<float, xsimd::avx512bw>(x));
}
template <class Arch>
inline std::uint32_t max_abs_bits(__m512 x0, __m512 x1) noexcept {
  const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
  const __m512i a = _mm512_max_epi32(_mm512_and_si512(_mm512_castps_si512(x0), magnitude),
                                     _mm512_and_si512(_mm512_castps_si512(x1), magnitude));
  return static_cast<std::uint32_t>(_mm512_reduce_max_epi32(a));
}
// Lane b: op folded over the 16 lanes of m[b], for 16 vectors at once. A
// transposed reduction: each step halves the width every block occupies and
// packs two blocks' partial results into one vector (16 -> 8 -> 4 -> 2 -> 1
// vectors), which leaves block 4j + k in lane 4k + j; one permute puts them in
// order. `op` must be associative and commutative (integer max, float min /
// max without NaN). m is overwritten.
template <class Arch, class Op>
inline __m512i reduce_16_vectors(__m512i (&m)[16], Op op) noexcept {
  const auto ps = [](__m512i v) { return _mm512_castsi512_ps(v); };
  const auto si = [](__m512 v) { return _mm512_castps_si512(v); };
  for (int i = 0; i < 8; ++i)  // 256-bit halves: lanes 0..7 block 2i, 8..15 block 2i+1
    m[i] = op(_mm512_shuffle_i64x2(m[2 * i], m[2 * i + 1], 0x44), _mm512_shuffle_i64x2(m[2 * i], m[2 * i + 1], 0xee));
  for (int i = 0; i < 4; ++i)  // 128-bit quarters: blocks 4i .. 4i+3
    m[i] = op(_mm512_shuffle_i64x2(m[2 * i], m[2 * i + 1], 0x88), _mm512_shuffle_i64x2(m[2 * i], m[2 * i + 1], 0xdd));
  for (int i = 0; i < 2; ++i)  // 64-bit pairs: quarter k holds blocks 8i + k and 8i + 4 + k
    m[i] = op(_mm512_unpacklo_epi64(m[2 * i], m[2 * i + 1]), _mm512_unpackhi_epi64(m[2 * i], m[2 * i + 1]));
  const __m512i t = op(si(_mm512_shuffle_ps(ps(m[0]), ps(m[1]), 0x88)), si(_mm512_shuffle_ps(ps(m[0]), ps(m[1]), 0xdd)));
  return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), t);
}

// Lane b: the largest |x| bit pattern of block b of the 16 blocks (512
// floats) at x. Integer maxima of the bit patterns are exact, and NaN / Inf
// come out at or above 0x7f800000. (vrangeps would save two operations but
// does not pass every NaN or Inf through.)
template <class Arch>
inline __m512i max_abs_bits_16_blocks(const float* x) noexcept {
  const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
  const auto abs_bits = [&](const float* p) { return _mm512_and_si512(_mm512_loadu_si512(p), magnitude); };
  __m512i m[16];
  for (int b = 0; b < 16; ++b) m[b] = _mm512_max_epu32(abs_bits(x + 32 * b), abs_bits(x + 32 * b + 16));
  return reduce_16_vectors<Arch>(m, [](__m512i a, __m512i b) { return _mm512_max_epu32(a, b); });
}
// Index of the first element whose |x| bits are `bits`.
template <class Arch>
inline unsigned first_with_abs_bits(__m512 x0, __m512 x1, std::uint32_t bits) noexcept {
  const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
  const __m512i target = _mm512_set1_epi32(static_cast<int>(bits));
  const unsigned lo = _mm512_cmpeq_epi32_mask(_mm512_and_si512(_mm512_castps_si512(x0), magnitude), target);
  const unsigned hi = _mm512_cmpeq_epi32_mask(_mm512_and_si512(_mm512_castps_si512(x1), magnitude), target);
  return static_cast<unsigned>(__builtin_ctz(lo | hi << 16));
}
// Nibble-pack two vectors of 4-bit codes (int32 lanes in 0..15): byte j = lo[j] | hi[j] << 4.
template <class Arch>
inline void store_nibbles(__m512i lo, __m512i hi, std::byte* dst) noexcept {
  const __m128i l = _mm512_cvtepi32_epi8(lo);
  const __m128i h = _mm512_cvtepi32_epi8(hi);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm_or_si128(l, _mm_slli_epi16(h, 4)));
}
// The block loop of the asymmetric formats (Q4_1, Q5_1) on AVX-512: groups of
// 16 blocks take min and max from two transposed reductions and d, 1/d,
// fp16(d) and fp16(min) from one vector operation each (the reference's IEEE
// operations); the remaining blocks go one at a time. NaN or Inf is rejected
// naming its block; asymmetric_scale's reference blocks go to the reference;
// encode(b, d_bits, min_bits, min, id) writes every other block b.
template <class F, class Arch, class Encode>
inline void quantize_asymmetric_blocks(std::span<const float> in, std::span<std::byte> out, float levels,
                                       Encode&& encode) {
  const std::size_t blocks = in.size() / 32;
  const auto as_int = [](__m512 v) { return _mm512_castps_si512(v); };
  const auto as_float = [](__m512i v) { return _mm512_castsi512_ps(v); };
  std::size_t b = 0;
  for (; b + 16 <= blocks; b += 16) {
    const float* xg = in.data() + b * 32;
    __m512i lo[16], hi[16];
    // Integer max of the |x| bit patterns: at or above 0x7f800000 for NaN or Inf.
    __m512i abs_max = _mm512_setzero_si512();
    const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
    for (int g = 0; g < 16; ++g) {
      const __m512 x0 = _mm512_loadu_ps(xg + 32 * g), x1 = _mm512_loadu_ps(xg + 32 * g + 16);
      abs_max = _mm512_max_epu32(abs_max, _mm512_max_epu32(_mm512_and_si512(as_int(x0), magnitude),
                                                           _mm512_and_si512(as_int(x1), magnitude)));
      lo[g] = as_int(_mm512_min_ps(x0, x1));
      hi[g] = as_int(_mm512_max_ps(x0, x1));
    }
    if (_mm512_reduce_max_epu32(abs_max) >= non_finite_bits) reject_first_bad_block<F>(in, b, 16);
    const __m512 min = as_float(
        reduce_16_vectors<Arch>(lo, [&](__m512i p, __m512i q) { return as_int(_mm512_min_ps(as_float(p), as_float(q))); }));
    const __m512 max = as_float(
        reduce_16_vectors<Arch>(hi, [&](__m512i p, __m512i q) { return as_int(_mm512_max_ps(as_float(p), as_float(q))); }));
    const __m512 d = _mm512_div_ps(_mm512_sub_ps(max, min), _mm512_set1_ps(levels));
    const __m512 id =
        _mm512_maskz_div_ps(_mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_NEQ_OQ), _mm512_set1_ps(1.0f), d);
    alignas(64) float mins[16], maxs[16], ds[16], ids[16];
    alignas(32) std::uint16_t d_bits[16], m_bits[16];
    _mm512_store_ps(mins, min);
    _mm512_store_ps(maxs, max);
    _mm512_store_ps(ds, d);
    _mm512_store_ps(ids, id);
    _mm256_store_si256(reinterpret_cast<__m256i*>(d_bits), _mm512_cvtps_ph(d, 0));  // 0: nearest even
    _mm256_store_si256(reinterpret_cast<__m256i*>(m_bits), _mm512_cvtps_ph(min, 0));
    for (unsigned g = 0; g < 16; ++g) {
      if (mins[g] == 0.0f || maxs[g] == 0.0f || !detail::gguf::is_finite(ds[g]) || !detail::gguf::is_finite(ids[g]))
        reference_block<F>(in, out, b + g);
      else
        encode(b + g, d_bits[g], m_bits[g], mins[g], ids[g]);
    }
  }
  for (; b < blocks; ++b) {
    const float* x = in.data() + b * 32;
    const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
    if ((_mm512_cmp_ps_mask(x0, x0, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(x1, x1, _CMP_UNORD_Q)) != 0)
      reject_block<F>(in, b);
    const float min = _mm512_reduce_min_ps(_mm512_min_ps(x0, x1));
    const float max = _mm512_reduce_max_ps(_mm512_max_ps(x0, x1));
    if (!detail::gguf::is_finite(min) || !detail::gguf::is_finite(max)) reject_block<F>(in, b);
    const asymmetric_scale s = asymmetric_scale_of(min, max, levels);
    if (s.reference)
      reference_block<F>(in, out, b);
    else
      encode(b, float_to_half<Arch>(s.d), float_to_half<Arch>(min), min, s.id);
  }
}
// Split 16 packed bytes into their low and high nibbles, as int32 lanes.
template <class Arch>
inline void load_nibbles(const std::byte* src, __m512i& lo, __m512i& hi) noexcept {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
  const __m128i mask = _mm_set1_epi8(0x0f);
  lo = _mm512_cvtepu8_epi32(_mm_and_si128(raw, mask));
  hi = _mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(raw, 4), mask));
}
#endif

#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
// Min and max of block b (32 floats in xs) on AVX2; NaN or Inf is rejected
// naming the block.
template <class F, class Arch>
inline void block_min_max(std::span<const float> in, std::size_t b, const __m256 (&xs)[4], float& min, float& max) {
  const __m256 unordered = _mm256_or_ps(
      _mm256_or_ps(_mm256_cmp_ps(xs[0], xs[0], _CMP_UNORD_Q), _mm256_cmp_ps(xs[1], xs[1], _CMP_UNORD_Q)),
      _mm256_or_ps(_mm256_cmp_ps(xs[2], xs[2], _CMP_UNORD_Q), _mm256_cmp_ps(xs[3], xs[3], _CMP_UNORD_Q)));
  if (_mm256_movemask_ps(unordered) != 0) reject_block<F>(in, b);
  const __m256 lo = _mm256_min_ps(_mm256_min_ps(xs[0], xs[1]), _mm256_min_ps(xs[2], xs[3]));
  const __m256 hi = _mm256_max_ps(_mm256_max_ps(xs[0], xs[1]), _mm256_max_ps(xs[2], xs[3]));
  __m128 lo4 = _mm_min_ps(_mm256_castps256_ps128(lo), _mm256_extractf128_ps(lo, 1));
  __m128 hi4 = _mm_max_ps(_mm256_castps256_ps128(hi), _mm256_extractf128_ps(hi, 1));
  lo4 = _mm_min_ps(lo4, _mm_movehl_ps(lo4, lo4));
  hi4 = _mm_max_ps(hi4, _mm_movehl_ps(hi4, hi4));
  min = _mm_cvtss_f32(_mm_min_ss(lo4, _mm_shuffle_ps(lo4, lo4, 1)));
  max = _mm_cvtss_f32(_mm_max_ss(hi4, _mm_shuffle_ps(hi4, hi4, 1)));
  if (!detail::gguf::is_finite(min) || !detail::gguf::is_finite(max)) reject_block<F>(in, b);
}
template <class Arch>
inline __m256 no_contract(__m256 x) noexcept {
  return simd::no_contract(xsimd::batch<float, xsimd::avx2>(x));
}
template <class Arch>
inline std::uint32_t horizontal_max_epi32(__m256i a) noexcept {
  __m128i m = _mm_max_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
  m = _mm_max_epi32(m, _mm_shuffle_epi32(m, 0x4e));
  m = _mm_max_epi32(m, _mm_shuffle_epi32(m, 0xb1));
  return static_cast<std::uint32_t>(_mm_cvtsi128_si32(m));
}
template <class Arch>
inline __m256i abs_bits(__m256 x) noexcept {
  return _mm256_and_si256(_mm256_castps_si256(x), _mm256_set1_epi32(0x7fffffff));
}
// x[0..3] are the four 8-lane quarters of a block.
template <class Arch>
inline std::uint32_t max_abs_bits(const __m256 (&x)[4]) noexcept {
  const __m256i m = _mm256_max_epi32(_mm256_max_epi32(abs_bits<Arch>(x[0]), abs_bits<Arch>(x[1])),
                                     _mm256_max_epi32(abs_bits<Arch>(x[2]), abs_bits<Arch>(x[3])));
  return horizontal_max_epi32<Arch>(m);
}
template <class Arch>
inline unsigned first_with_abs_bits(const __m256 (&x)[4], std::uint32_t bits) noexcept {
  const __m256i target = _mm256_set1_epi32(static_cast<int>(bits));
  unsigned mask = 0;
  for (unsigned k = 0; k < 4; ++k)
    mask |= static_cast<unsigned>(
                _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(abs_bits<Arch>(x[k]), target))))
            << (8 * k);
  return static_cast<unsigned>(__builtin_ctz(mask));
}
// 32 int32 codes in [-128, 127] (four quarters) to 32 bytes in element order.
template <class Arch>
inline __m256i narrow_to_bytes(const __m256i (&q)[4]) noexcept {
  const __m256i words01 = _mm256_packs_epi32(q[0], q[1]);  // lanes interleave per 128 bits
  const __m256i words23 = _mm256_packs_epi32(q[2], q[3]);
  const __m256i bytes = _mm256_packs_epi16(words01, words23);
  return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}
// 32 4-bit codes (element order) to the split-half nibble bytes.
template <class Arch>
inline void store_nibbles(const __m256i (&q)[4], std::byte* dst) noexcept {
  const __m256i bytes = narrow_to_bytes<Arch>(q);
  const __m128i lo = _mm256_castsi256_si128(bytes);
  const __m128i hi = _mm256_extracti128_si256(bytes, 1);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm_or_si128(lo, _mm_slli_epi16(hi, 4)));
}
// 16 packed bytes to 32 int32 codes in element order (four quarters).
template <class Arch>
inline void load_nibbles(const std::byte* src, __m256i (&q)[4]) noexcept {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
  const __m128i mask = _mm_set1_epi8(0x0f);
  const __m128i lo = _mm_and_si128(raw, mask);
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(raw, 4), mask);
  q[0] = _mm256_cvtepu8_epi32(lo);
  q[1] = _mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8));
  q[2] = _mm256_cvtepu8_epi32(hi);
  q[3] = _mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8));
}
#endif

}  // namespace qmath::kernels::gguf_simd

#include "qmath/kernels/detail/diagnostics_end.hpp"
