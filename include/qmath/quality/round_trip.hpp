#pragma once
// How much a format loses on given data: the error (qmath/quality/metrics.hpp)
// of a quantize -> dequantize round trip through qmath's own kernels, for
// every format qmath packs:
//
//   round_trip_error<F>(data)            a format descriptor (GGUF blocks, bnb 4-bit,
//                                        LLM.int8 rows, GPTQ/AWQ groups, INT2 groups)
//   round_trip_error<T>(data)            a float type: fp16, bf16, fp8_e4m3, fp8_e5m2
//   round_trip_error(info, data)         the same chosen at run time by a format_info
//                                        (its block size, bnb double quantization,
//                                        LLM.int8 row length, group size)
//   round_trip_error(data, grid)         an FP8 checkpoint layout (fp8_checkpoint::scale_grid:
//                                        128 x 128 blocks, per channel, per tensor)
//
// The length must be what the format stores: whole blocks (bitsandbytes 4-bit
// also takes a partial last block), whole rows for LLM.int8, whole groups and
// a multiple of 8 groups for GPTQ/AWQ (the data is taken as out x group_size,
// one group per row, since the groups are independent).

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "qmath/error.hpp"
#include "qmath/formats/fp8_checkpoint.hpp"
#include "qmath/formats/table.hpp"
#include "qmath/fp/convert.hpp"
#include "qmath/kernels/bnb_4bit.hpp"
#include "qmath/kernels/bnb_int8.hpp"
#include "qmath/kernels/fp_convert.hpp"
#include "qmath/kernels/group_int2.hpp"
#include "qmath/kernels/group_int4.hpp"
#include "qmath/kernels/iq4_nl.hpp"
#include "qmath/kernels/iq4_xs.hpp"
#include "qmath/kernels/mxfp4.hpp"
#include "qmath/kernels/nvfp4.hpp"
#include "qmath/kernels/q2_k.hpp"
#include "qmath/kernels/q3_k.hpp"
#include "qmath/kernels/q4_0.hpp"
#include "qmath/kernels/q4_1.hpp"
#include "qmath/kernels/q4_k.hpp"
#include "qmath/kernels/q5_0.hpp"
#include "qmath/kernels/q5_1.hpp"
#include "qmath/kernels/q5_k.hpp"
#include "qmath/kernels/q6_k.hpp"
#include "qmath/kernels/q8_0.hpp"
#include "qmath/kernels/q8_k.hpp"
#include "qmath/kernels/quantize.hpp"
#include "qmath/kernels/tq1_0.hpp"
#include "qmath/kernels/tq2_0.hpp"
#include "qmath/quality/metrics.hpp"

namespace qmath {

// Round-trips `data` through format F. The length must be a whole number of
// F's blocks.
template <format_descriptor F, class Arch = default_arch>
quality_report round_trip_error(std::span<const float> data) {
  std::vector<std::byte> packed(storage_bytes<F>(data.size()));
  std::vector<float> restored(data.size());
  quantize<F, Arch>(data, packed);
  dequantize<F, Arch>(packed, restored);
  return measure_error(data, restored);
}

// Round-trips `data` through a float type (round to nearest even; fp8 with
// its default overflow rule, fp/fp8.hpp).
template <fp_format T, class Arch = default_arch>
quality_report round_trip_error(std::span<const float> data) {
  std::vector<T> packed(data.size());
  std::vector<float> restored(data.size());
  convert<T, Arch>(data, std::span<T>(packed));
  convert<T, Arch>(std::span<const T>(packed), std::span<float>(restored));
  return measure_error(data, restored);
}

// Round-trips a rows x cols weight (row-major) through an FP8 checkpoint
// layout: e4m3 codes and one fp32 scale per block of the grid, by the rule
// transformers saves with (formats/fp8_checkpoint.hpp).
inline quality_report round_trip_error(std::span<const float> data, const fp8_checkpoint::scale_grid& grid) {
  std::vector<std::uint8_t> codes(data.size());
  std::vector<float> scale_inv(grid.scale_rows() * grid.scale_cols());
  std::vector<float> restored(data.size());
  fp8_checkpoint::quantize(data, grid, codes, scale_inv);
  fp8_checkpoint::dequantize(codes, scale_inv, grid, restored);
  return measure_error(data, restored);
}

namespace detail {

template <std::uint32_t G, class Arch>
quality_report int2_group_round_trip(std::uint32_t group, std::span<const float> data) {
  if constexpr (G <= 256) {
    if (group == G) return round_trip_error<formats::int2_group<G>, Arch>(data);
    return int2_group_round_trip<G + 16, Arch>(group, data);
  } else {
    precondition_failed("qmath::round_trip_error", "int2-group has no group size ", group);
  }
}

template <class Arch>
quality_report bnb_4bit_round_trip(const format_info& f, std::span<const float> data, bnb_backend backend) {
  const bnb_code code = f.id == format_id::bnb_nf4 ? bnb_code::nf4 : bnb_code::fp4;
  const std::size_t blocksize = f.block_elems, n = data.size();
  const std::size_t blocks = (n + blocksize - 1) / blocksize;
  std::vector<std::uint8_t> packed((n + 1) / 2);
  std::vector<float> restored(n);
  if (f.group_blocks == 0) {
    std::vector<float> absmax(blocks);
    bnb::quantize_4bit<Arch>(data, packed, absmax, code, blocksize, backend);
    bnb::dequantize_4bit<Arch>(packed, absmax, restored, code, blocksize);
  } else {
    std::vector<std::uint8_t> qabsmax(blocks);
    std::vector<float> absmax2((blocks + bnb::dq_blocksize - 1) / bnb::dq_blocksize);
    float offset = 0;
    bnb::dq_options options;
    options.backend = backend;
    bnb::quantize_4bit_dq<Arch>(data, packed, qabsmax, absmax2, offset, code, blocksize, bnb::dynamic_map, options);
    bnb::dequantize_4bit_dq<Arch>(packed, qabsmax, absmax2, offset, restored, code, blocksize);
  }
  return measure_error(data, restored);
}

template <class Arch>
quality_report int8_rowwise_round_trip(std::size_t cols, std::span<const float> data, bnb_backend backend) {
  QMATH_REQUIRE(cols > 0 && data.size() % cols == 0, "qmath::round_trip_error", data.size(),
                " values are not whole LLM.int8 rows of ", cols);
  const std::size_t rows = data.size() / cols;
  std::vector<std::int8_t> codes(data.size());
  std::vector<float> row_stats(rows), restored(data.size());
  bnb::quantize_int8_rowwise<Arch>(data, rows, cols, codes, row_stats, 0.0f, backend);
  bnb::dequantize_int8_rowwise<Arch>(codes, row_stats, rows, cols, restored);
  return measure_error(data, restored);
}

template <class Arch>
quality_report group_int4_round_trip(const format_info& f, std::span<const float> data) {
  const std::size_t group = f.block_elems;
  QMATH_REQUIRE(data.size() % (8 * group) == 0, "qmath::round_trip_error", data.size(), " values of ", f.name,
                " are not a multiple of 8 groups of ", group);
  const group_int4::shape s{data.size() / group, group, group};
  const int4_packing packing = f.id == format_id::awq_int4 ? int4_packing::awq : int4_packing::gptq;
  std::vector<std::int32_t> qweight(s.qweight_words()), qzeros(s.qzeros_words());
  std::vector<fp16> scales(s.scales_count());
  std::vector<float> restored(data.size());
  group_int4::quantize<Arch>(data, s, packing, qweight, qzeros, scales);
  group_int4::dequantize<Arch>(qweight, qzeros, scales, s, packing, restored);
  return measure_error(data, restored);
}

}  // namespace detail

// Round-trips `data` through the format a record describes, with the record's
// own parameters (block size, double quantization, row length, group size).
// `backend` picks bitsandbytes' GPU rule (the default) or its CPU rule.
// Throws qmath::error for a format qmath has no kernel for (IQ2/IQ3/IQ1, Q8_1,
// Q1_0/Q2_0, ternary-i2s) and for a length the format cannot store.
template <class Arch = default_arch>
quality_report round_trip_error(const format_info& f, std::span<const float> data,
                                bnb_backend backend = bnb_backend::cuda) {
  namespace fmt = formats;
  switch (f.id) {
    case format_id::f32: return measure_error(data, data);
    case format_id::f16: return round_trip_error<fp16, Arch>(data);
    case format_id::bf16: return round_trip_error<bf16, Arch>(data);
    case format_id::fp8_e4m3: return round_trip_error<fp8_e4m3, Arch>(data);
    case format_id::fp8_e5m2: return round_trip_error<fp8_e5m2, Arch>(data);
    case format_id::q4_0: return round_trip_error<fmt::q4_0, Arch>(data);
    case format_id::q4_1: return round_trip_error<fmt::q4_1, Arch>(data);
    case format_id::q5_0: return round_trip_error<fmt::q5_0, Arch>(data);
    case format_id::q5_1: return round_trip_error<fmt::q5_1, Arch>(data);
    case format_id::q8_0: return round_trip_error<fmt::q8_0, Arch>(data);
    case format_id::q2_k: return round_trip_error<fmt::q2_k, Arch>(data);
    case format_id::q3_k: return round_trip_error<fmt::q3_k, Arch>(data);
    case format_id::q4_k: return round_trip_error<fmt::q4_k, Arch>(data);
    case format_id::q5_k: return round_trip_error<fmt::q5_k, Arch>(data);
    case format_id::q6_k: return round_trip_error<fmt::q6_k, Arch>(data);
    case format_id::q8_k: return round_trip_error<fmt::q8_k, Arch>(data);
    case format_id::iq4_nl: return round_trip_error<fmt::iq4_nl, Arch>(data);
    case format_id::iq4_xs: return round_trip_error<fmt::iq4_xs, Arch>(data);
    case format_id::tq1_0: return round_trip_error<fmt::tq1_0, Arch>(data);
    case format_id::tq2_0: return round_trip_error<fmt::tq2_0, Arch>(data);
    case format_id::mxfp4: return round_trip_error<fmt::mxfp4, Arch>(data);
    case format_id::nvfp4: return round_trip_error<fmt::nvfp4, Arch>(data);
    case format_id::bnb_nf4:
    case format_id::bnb_fp4: return detail::bnb_4bit_round_trip<Arch>(f, data, backend);
    case format_id::bnb_int8_rowwise: return detail::int8_rowwise_round_trip<Arch>(f.block_elems, data, backend);
    case format_id::gptq_int4:
    case format_id::awq_int4: return detail::group_int4_round_trip<Arch>(f, data);
    case format_id::group_int2: return detail::int2_group_round_trip<16, Arch>(f.block_elems, data);
    default: break;
  }
  detail::precondition_failed("qmath::round_trip_error", "qmath has no kernel for ", f.name);
}

}  // namespace qmath
