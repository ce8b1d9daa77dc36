#pragma once
// Every storage format qmath knows, as constexpr records: the single source of
// the block sizes that the kernels write and the estimators count.
//
// GGUF rows: elements and bytes per block are those of the block structs in
// ggml's src/ggml-common.h and of gguf-py's GGML_QUANT_SIZES (constants.py);
// type ids from ggml's include/ggml.h (enum ggml_type). tests/python checks
// this table against the gguf package.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "qmath/formats/format_info.hpp"

namespace qmath {

namespace detail {
constexpr format_info gguf_row(format_id id, std::string_view name, std::uint32_t elems, std::uint32_t bytes,
                               std::int32_t ggml_type, bool kernel) {
  return {id, name, format_family::gguf, elems, bytes * 8, 0, 0, 0, ggml_type, kernel};
}
}  // namespace detail

// bitsandbytes 4-bit (NF4 or FP4): one code per 4 bits, absmax per block of
// `blocksize` (32..4096, default 64) in fp32; with double quantization the
// absmax is an 8-bit code with one fp32 absmax per 256 blocks, and the tensor
// keeps an fp32 offset and the 256-entry fp32 code table. The 16-entry fp32
// quant_map is stored with every tensor (bitsandbytes QuantState.as_dict).
constexpr format_info bnb_4bit_info(format_id id, std::uint32_t blocksize = 64, bool double_quant = false) {
  QMATH_REQUIRE(id == format_id::bnb_nf4 || id == format_id::bnb_fp4, "qmath::bnb_4bit_info",
                "format must be bnb_nf4 or bnb_fp4");
  QMATH_REQUIRE(blocksize >= 32 && blocksize <= 4096 && (blocksize & (blocksize - 1)) == 0,
                "qmath::bnb_4bit_info", "blocksize ", blocksize, " is not a power of two in [32, 4096]");
  const std::string_view name = id == format_id::bnb_nf4 ? (double_quant ? "nf4-dq" : "nf4")
                                                         : (double_quant ? "fp4-dq" : "fp4");
  constexpr std::uint32_t quant_map_bytes = 16 * 4;
  if (!double_quant)
    return {id, name, format_family::bitsandbytes, blocksize, blocksize * 4 + 32, 0, 0, quant_map_bytes, -1, true};
  return {id,  name, format_family::bitsandbytes, blocksize, blocksize * 4 + 8, 256, 32,
          quant_map_bytes + 256 * 4 + 4, -1, true};
}

// LLM.int8 vector-wise: int8 codes and one fp32 absmax per row of `row_length`.
constexpr format_info bnb_int8_rowwise_info(std::uint32_t row_length) {
  QMATH_REQUIRE(row_length > 0, "qmath::bnb_int8_rowwise_info", "row length must be positive");
  // block_bits (8 per code + the 32-bit absmax) is a uint32
  QMATH_REQUIRE(row_length <= (0xffffffffu - 32) / 8, "qmath::bnb_int8_rowwise_info", "row length ", row_length,
                " is too long for one 32-bit block size");
  return {format_id::bnb_int8_rowwise, "int8-rowwise", format_family::bitsandbytes, row_length,
          row_length * 8 + 32, 0, 0, 0, -1, true};
}

// GPTQ / AWQ 4-bit: per group of `group_size` input elements one fp16 scale and
// one 4-bit zero point (packed eight to an int32), codes packed eight to an int32.
constexpr format_info group_int4_info(format_id id, std::uint32_t group_size = 128) {
  QMATH_REQUIRE(id == format_id::gptq_int4 || id == format_id::awq_int4, "qmath::group_int4_info",
                "format must be gptq_int4 or awq_int4");
  QMATH_REQUIRE(group_size == 32 || group_size == 64 || group_size == 128, "qmath::group_int4_info",
                "group size ", group_size, " is not 32, 64 or 128");
  const std::string_view name = id == format_id::gptq_int4 ? "gptq-int4" : "awq-int4";
  return {id, name, format_family::group_int, group_size, group_size * 4 + 16 + 4, 0, 0, 0, -1, true};
}

// qmath's simple group-wise asymmetric INT2: per group an fp16 scale and an
// fp16 minimum, then 2-bit codes (see formats/group_int2.hpp).
constexpr format_info group_int2_info(std::uint32_t group_size = 64) {
  QMATH_REQUIRE(group_size >= 16 && group_size % 16 == 0 && group_size <= 256, "qmath::group_int2_info",
                "group size ", group_size, " is not a multiple of 16 in [16, 256]");
  return {format_id::group_int2, "int2-group", format_family::group_int, group_size, group_size * 2 + 32,
          0, 0, 0, -1, true};
}

inline constexpr std::array format_table{
    // floating point: one element per "block"
    format_info{format_id::f32, "f32", format_family::floating_point, 1, 32, 0, 0, 0, 0, true},
    format_info{format_id::f16, "f16", format_family::floating_point, 1, 16, 0, 0, 0, 1, true},
    format_info{format_id::bf16, "bf16", format_family::floating_point, 1, 16, 0, 0, 0, 30, true},
    format_info{format_id::fp8_e4m3, "fp8-e4m3", format_family::floating_point, 1, 8, 0, 0, 0, -1, true},
    format_info{format_id::fp8_e5m2, "fp8-e5m2", format_family::floating_point, 1, 8, 0, 0, 0, -1, true},
    // GGUF (ggml-common.h block structs)
    detail::gguf_row(format_id::q4_0, "q4_0", 32, 18, 2, true),
    detail::gguf_row(format_id::q4_1, "q4_1", 32, 20, 3, true),
    detail::gguf_row(format_id::q5_0, "q5_0", 32, 22, 6, true),
    detail::gguf_row(format_id::q5_1, "q5_1", 32, 24, 7, true),
    detail::gguf_row(format_id::q8_0, "q8_0", 32, 34, 8, true),
    detail::gguf_row(format_id::q8_1, "q8_1", 32, 36, 9, false),
    detail::gguf_row(format_id::q2_k, "q2_k", 256, 84, 10, true),
    detail::gguf_row(format_id::q3_k, "q3_k", 256, 110, 11, true),
    detail::gguf_row(format_id::q4_k, "q4_k", 256, 144, 12, true),
    detail::gguf_row(format_id::q5_k, "q5_k", 256, 176, 13, true),
    detail::gguf_row(format_id::q6_k, "q6_k", 256, 210, 14, true),
    detail::gguf_row(format_id::q8_k, "q8_k", 256, 292, 15, true),
    detail::gguf_row(format_id::iq2_xxs, "iq2_xxs", 256, 66, 16, false),
    detail::gguf_row(format_id::iq2_xs, "iq2_xs", 256, 74, 17, false),
    detail::gguf_row(format_id::iq2_s, "iq2_s", 256, 82, 22, false),
    detail::gguf_row(format_id::iq3_xxs, "iq3_xxs", 256, 98, 18, false),
    detail::gguf_row(format_id::iq3_s, "iq3_s", 256, 110, 21, false),
    detail::gguf_row(format_id::iq1_s, "iq1_s", 256, 50, 19, false),
    detail::gguf_row(format_id::iq1_m, "iq1_m", 256, 56, 29, false),
    detail::gguf_row(format_id::iq4_nl, "iq4_nl", 32, 18, 20, true),
    detail::gguf_row(format_id::iq4_xs, "iq4_xs", 256, 136, 23, true),
    detail::gguf_row(format_id::tq1_0, "tq1_0", 256, 54, 34, true),
    detail::gguf_row(format_id::tq2_0, "tq2_0", 256, 66, 35, true),
    detail::gguf_row(format_id::mxfp4, "mxfp4", 32, 17, 39, true),
    // NVFP4: 64 elements in four UE4M3 scales (one per 16) and 32 bytes of E2M1
    // codes (block_nvfp4); Q1_0 / Q2_0: 128 and 64 elements with one fp16 scale
    detail::gguf_row(format_id::nvfp4, "nvfp4", 64, 36, 40, true),
    detail::gguf_row(format_id::q1_0, "q1_0", 128, 18, 41, false),
    detail::gguf_row(format_id::q2_0, "q2_0", 64, 18, 42, false),
    // bitsandbytes defaults (blocksize 64; rows of 4096 for LLM.int8)
    bnb_4bit_info(format_id::bnb_nf4),
    bnb_4bit_info(format_id::bnb_fp4),
    bnb_int8_rowwise_info(4096),
    // group-wise integer defaults (group 128 as GPTQ/AWQ ship; INT2 groups of 64)
    group_int4_info(format_id::gptq_int4),
    group_int4_info(format_id::awq_int4),
    group_int2_info(),
    // BitNet b1.58 absmean ternary, two bits a weight in blocks of 128 and one fp32
    // scale per tensor (bitnet.cpp I2_S, x86 layout, 32 trailing bytes)
    format_info{format_id::bitnet_ternary, "ternary-i2s", format_family::ternary, 128, 256, 0, 0, 32, -1, false},
};

// The default record of a format id.
constexpr const format_info& info(format_id id) {
  for (const auto& f : format_table)
    if (f.id == id) return f;
  detail::precondition_failed("qmath::info", "unknown format id ", static_cast<int>(id));
}

constexpr std::optional<format_info> find_format(std::string_view name) noexcept {
  for (const auto& f : format_table)
    if (f.name == name) return f;
  return std::nullopt;
}

constexpr std::optional<format_info> find_ggml_type(std::int32_t ggml_type) noexcept {
  for (const auto& f : format_table)
    if (f.ggml_type == ggml_type) return f;
  return std::nullopt;
}

constexpr bool has_kernel(format_id id) { return info(id).has_kernel; }

}  // namespace qmath
