#pragma once
// The format model: one constexpr record per storage format, read by the
// kernels (block sizes are checked against it at compile time), by the
// estimators (every storage cost comes from storage_bytes) and by the tools.
// This header does not include xsimd.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "qmath/detail/bits.hpp"
#include "qmath/detail/checked.hpp"
#include "qmath/error.hpp"

namespace qmath {

// Identity of a format family. The numeric values are qmath's own; the GGUF
// type id, where there is one, is format_info::ggml_type.
enum class format_id : std::uint16_t {
  // floating point
  f32, f16, bf16, fp8_e4m3, fp8_e5m2,
  // GGUF block formats (llama.cpp / ggml)
  q4_0, q4_1, q5_0, q5_1, q8_0, q8_1,
  q2_k, q3_k, q4_k, q5_k, q6_k, q8_k,
  iq2_xxs, iq2_xs, iq2_s, iq3_xxs, iq3_s, iq1_s, iq1_m, iq4_nl, iq4_xs,
  tq1_0, tq2_0, mxfp4, nvfp4, q1_0, q2_0,
  // bitsandbytes
  bnb_nf4, bnb_fp4, bnb_int8_rowwise,
  // group-wise integer formats (GPTQ / AWQ packing; qmath's simple INT2)
  gptq_int4, awq_int4, group_int2,
  // BitNet b1.58 absmean ternary, one scale per tensor
  bitnet_ternary,
};

enum class format_family : std::uint8_t { floating_point, gguf, bitsandbytes, group_int, ternary };

// Storage of n elements, n a multiple of block_elems:
//   blocks = n / block_elems
//   bits   = blocks * block_bits + ceil(blocks / group_blocks) * group_bits
//   bytes  = ceil(bits / 8) + tensor_bytes
// block_bits counts everything stored per block (codes and in-block scales);
// group_* describes a second level of scales (bitsandbytes double quantization
// keeps one fp32 absmax per 256 blocks); tensor_bytes is what a tensor stores
// once (an offset, a code table).
struct format_info {
  format_id id;
  std::string_view name;
  format_family family;
  std::uint32_t block_elems;
  std::uint32_t block_bits;
  std::uint32_t group_blocks = 0;
  std::uint32_t group_bits = 0;
  std::uint32_t tensor_bytes = 0;
  std::int32_t ggml_type = -1;  // GGUF tensor type id, -1 where GGUF has none
  bool has_kernel = false;      // qmath ships quantize/dequantize for it

  // Bytes per block when a block is a whole number of bytes (every GGUF type).
  constexpr std::uint32_t block_bytes() const noexcept { return block_bits / 8; }

  // Exact bits per weight, scales included, as a double for display.
  constexpr double bits_per_weight() const noexcept {
    double bits = static_cast<double>(block_bits);
    if (group_blocks != 0) bits += static_cast<double>(group_bits) / group_blocks;
    return bits / block_elems;
  }

  friend constexpr bool operator==(const format_info&, const format_info&) = default;
};

// Bytes that n elements take in format f. A length that is not a whole number
// of blocks is an error: GGUF and bitsandbytes store whole blocks only.
constexpr std::uint64_t storage_bytes(const format_info& f, std::uint64_t n_elements) {
  QMATH_REQUIRE(f.block_elems != 0, "qmath::storage_bytes", "format ", f.name, " has no block size");
  QMATH_REQUIRE(n_elements % f.block_elems == 0, "qmath::storage_bytes", n_elements, " elements of ", f.name,
                " are not a whole number of ", f.block_elems, "-element blocks");
  constexpr const char* api = "qmath::storage_bytes";
  // ceil(bits / 8) without forming the bit count, which passes 2^64 long
  // before the byte count does: with k = 8q + r items of b bits each,
  // k x b bits are q x b whole bytes and r x b bits (< 2^35) left over.
  const std::uint64_t blocks = n_elements / f.block_elems;
  const std::uint64_t groups = f.group_blocks != 0 ? detail::ceil_div(blocks, f.group_blocks) : 0;
  const std::uint64_t rest_bits = blocks % 8 * f.block_bits + groups % 8 * f.group_bits;
  return detail::checked_sum(api, "storage bytes", detail::checked_mul(blocks / 8, f.block_bits, api, "storage bytes"),
                             detail::checked_mul(groups / 8, f.group_bits, api, "storage bytes"),
                             detail::ceil_div(rest_bits, 8), n_elements != 0 ? f.tensor_bytes : 0);
}

// A format descriptor type (qmath::formats::q8_0, ...) carries its record.
template <class F>
concept format_descriptor = requires {
  { F::info } -> std::convertible_to<const format_info&>;
};

template <format_descriptor F>
constexpr std::uint64_t storage_bytes(std::uint64_t n_elements) {
  return storage_bytes(F::info, n_elements);
}

namespace detail {
// The precondition of every array API: n_elements is a whole number of F's
// blocks and the byte span is exactly storage_bytes<F>(n_elements) long.
template <format_descriptor F>
constexpr void check_storage_size(const char* api, std::size_t n_elements, std::size_t n_bytes) {
  QMATH_REQUIRE(n_elements % F::info.block_elems == 0, api, n_elements, " elements are not a whole number of ",
                F::info.name, " blocks of ", F::info.block_elems);
  const std::uint64_t expected = storage_bytes(F::info, n_elements);
  QMATH_REQUIRE(n_bytes == expected, api, F::info.name, " storage for ", n_elements, " elements is ", expected,
                " bytes, the byte span has ", n_bytes);
}
}  // namespace detail

}  // namespace qmath
