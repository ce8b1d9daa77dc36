#pragma once
// bitsandbytes 4-bit blockwise formats (NF4, FP4), with and without double
// quantization of the block scales: code tables, the constexpr scalar
// reference and the format descriptors. This header does not include xsimd;
// the array API with SIMD kernels is in qmath/kernels/bnb_4bit.hpp.
//
// bitsandbytes' own layout (quantize_4bit, QuantState) keeps separate tensors:
//   packed   uint8[ceil(n/2)]  element 2i in the HIGH nibble of byte i, element
//                              2i+1 in the LOW nibble (kernels.cu kQuantizeBlockwise:
//                              `qvals[j] = dQuantizeNF4(vals[2j]) << 4 | dQuantizeNF4(vals[2j+1])`;
//                              backends/default/ops.py `quantized[::2] << 4 | quantized[1::2]`)
//   absmax   fp32[ceil(n/blocksize)]
//   quant_map fp32[16]
// and with double quantization (compress_statistics=True, functional.py
// quantize_4bit): offset = mean(absmax); absmax - offset is quantized 8-bit
// blockwise with blocksize 256 and the signed dynamic map:
//   qabsmax uint8[blocks], absmax2 fp32[ceil(blocks/256)], offset fp32, code fp32[256].
//
// Two quantizers write these bytes, and checkpoints hold both (bnb_backend):
//
//  * cuda (the default): csrc kQuantizeBlockwise, which quantizes a model on
//    the GPU when it is loaded with load_in_4bit, so it wrote the pre-quantized
//    "-bnb-4bit" checkpoints people download. bitsandbytes builds its CUDA code
//    with --use_fast_math (CMakeLists.txt), so subnormals flush to zero: absmax
//    = max |x| over the flushed values; local = 1.0f / absmax; each value is
//    coded as tree(flush(flush(x) * local)), the tree being dQuantizeNF4 /
//    dQuantizeFP4, comparisons with strict `x > pivot` against the decimal
//    literals of kernels.cu, so a value exactly on a pivot takes the lower code
//    (FP4: the sign is x < 0, then the smaller magnitude). A block whose
//    (flushed) absmax is 0 computes 0 * inf = NaN, which the trees send to
//    nibble 0: such a block is all 0x00 bytes with absmax 0 (NF4 nibble 0 is
//    -1.0, so it dequantizes to -0.0).
//  * cpu: backends/default/ops.py quantize_4bit, what bitsandbytes >= 0.46
//    runs on a CPU (it has no native 4-bit quantizer there): absmax = max |x|
//    (no flushing); the divisor is absmax clamped to at least 1e-38f; a full
//    block is scaled by x * (1 / divisor), the partial last block by
//    x / divisor (and stores the clamped divisor as its absmax, so an all-zero
//    partial block stores 1e-38f); codes by torch.bucketize against the
//    float32 midpoints of the sorted code table, a tie going to the lower code
//    (toward -inf); FP4 maps the sorted rank back to nibbles through
//    argsort(code), which puts nibble 0 (+0.0) before nibble 8 (also +0.0): a
//    tiny positive value takes nibble 8, a tiny negative one (and 0) nibble 0,
//    the opposite of cuda.
//
// The GPU's 1.0f / absmax under --use_fast_math is the approximate reciprocal
// (rcp.approx, within 1 ulp); qmath computes the IEEE reciprocal, so a code can
// differ from a GPU's only where x / absmax lies within an ulp of a pivot.
//
// Dequantize: y = quant_map[nibble] * absmax, with the quant_map stored in the
// state (get_4bit_type's table, whose FP4 entry 8 is +0.0: the CPU's result;
// the Python list holds the integer -0). bitsandbytes' CUDA dequantizer
// computes FP4 as lut[nibble & 7] * sign, -0.0 for nibble 8: fp4_map_cuda.
//
// qmath's choice: NaN or infinite input is an error (qmath::error);
// bitsandbytes has no check.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "qmath/detail/bits.hpp"
#include "qmath/error.hpp"
#include "qmath/formats/bnb_blockwise.hpp"
#include "qmath/formats/bnb_int8.hpp"
#include "qmath/formats/format_info.hpp"
#include "qmath/formats/table.hpp"

namespace qmath {

enum class bnb_code : std::uint8_t { nf4, fp4 };

namespace bnb {

// NF4 code table, index = nibble. bitsandbytes functional.py get_4bit_type("nf4")
// and csrc/kernels.cu nf4_dequantization_lut (identical float32 values).
inline constexpr std::array<float, 16> nf4_map{
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
    -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
    0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
    0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};

// FP4 (bitsandbytes' own: sign, 2 exponent bits, 1 mantissa bit, not OCP E2M1).
// get_4bit_type("fp4"): [0, 0.0625, 8, 12, 4, 6, 2, 3, -0, -0.0625, -8, -12, -4, -6, -2, -3]
// divided by 12 in float32. fp32(a)/12 equals the literals of kernels.cu's
// fp4_dequantization_lut (checked in tests/python/test_bnb.py).
inline constexpr std::array<float, 16> fp4_map{
    0.0f / 12.0f,  0.0625f / 12.0f,  8.0f / 12.0f,  12.0f / 12.0f,  4.0f / 12.0f,  6.0f / 12.0f,  2.0f / 12.0f,
    3.0f / 12.0f,  0.0f / 12.0f,     -0.0625f / 12.0f, -8.0f / 12.0f, -12.0f / 12.0f, -4.0f / 12.0f, -6.0f / 12.0f,
    -2.0f / 12.0f, -3.0f / 12.0f};

// kernels.cu's FP4 dequantizer, lut[nibble & 7] * sign, as a table: entry 8 is
// -0.0 (so nibble 8 times a positive absmax is -0.0).
inline constexpr std::array<float, 16> fp4_map_cuda = [] {
  std::array<float, 16> map = fp4_map;
  map[8] = -0.0f;
  return map;
}();

constexpr const std::array<float, 16>& quant_map(bnb_code code) noexcept {
  return code == bnb_code::nf4 ? nf4_map : fp4_map;
}

// The nibble that encodes 0.0.
constexpr std::uint8_t zero_nibble(bnb_code code) noexcept { return code == bnb_code::nf4 ? 7 : 0; }

// Pivots of dQuantizeNF4 (kernels.cu), ascending, as float literals there: the
// exact midpoints of neighbouring codes printed to 16 digits and rounded to
// float by the compiler. Four of them (0, 8, 12, 14) are one ulp away from the
// float32 midpoint (a+b)/2, whose exact value is a tie that (a+b)/2 rounds to
// even while the printed decimal leans to one side; qmath uses the literals,
// as the CUDA kernel does (tests check each is one of the two floats nearest
// the exact midpoint).
inline constexpr std::array<float, 15> nf4_pivots{
    -0.8480964004993439f, -0.6106329262256622f, -0.4599952697753906f, -0.33967943489551544f,
    -0.23460740596055984f, -0.13791173323988914f, -0.045525018125772476f, 0.03979014977812767f,
    0.1202552504837513f, 0.2035212516784668f, 0.2920137718319893f, 0.3893125355243683f,
    0.5016634166240692f, 0.6427869200706482f, 0.8614784181118011f};

// Magnitude pivots of dQuantizeFP4 (kernels.cu), ascending, as written there
// (0.583333f is not the float32 midpoint 7/12; qmath keeps bitsandbytes' literal).
inline constexpr std::array<float, 7> fp4_pivots{0.00260417f, 0.0859375f,  0.20833333f, 0.29166667f,
                                                 0.4166667f,  0.583333f,   0.8333333f};
// Magnitude rank (0 = 0.0 ... 7 = 1.0) to the 3 low bits of the FP4 nibble.
inline constexpr std::array<std::uint8_t, 8> fp4_rank_to_bits{0b000, 0b001, 0b110, 0b111,
                                                              0b100, 0b101, 0b010, 0b011};

// dQuantizeNF4: the comparison tree with strict `>` is the same as counting the
// pivots below x (the pivots are sorted). NaN passes no test: nibble 0.
constexpr std::uint8_t encode_nf4(float scaled) noexcept {
  std::uint8_t index = 0;
  for (float pivot : nf4_pivots) index = static_cast<std::uint8_t>(index + (scaled > pivot ? 1 : 0));
  return index;
}

// dQuantizeFP4: sign = x < 0 (so -0.0 and NaN are positive), then the tree on |x|.
constexpr std::uint8_t encode_fp4(float scaled) noexcept {
  const std::uint8_t sign = scaled < 0.0f ? 8 : 0;
  const float magnitude = scaled < 0.0f ? -scaled : scaled;
  std::uint8_t rank = 0;
  for (float pivot : fp4_pivots) rank = static_cast<std::uint8_t>(rank + (magnitude > pivot ? 1 : 0));
  return static_cast<std::uint8_t>(sign | fp4_rank_to_bits[rank]);
}

constexpr std::uint8_t encode(bnb_code code, float scaled) noexcept {
  return code == bnb_code::nf4 ? encode_nf4(scaled) : encode_fp4(scaled);
}

// The CPU rule's tables (default/ops.py _get_4bit_quantize_bounds): the code
// table in argsort order, and the float32 midpoints of neighbours.
namespace detail {
struct sorted_code {
  std::array<std::uint8_t, 16> order;  // sorted rank -> nibble
  std::array<float, 15> bounds;        // (map[order[r]] + map[order[r + 1]]) / 2 in float32
};
constexpr sorted_code make_sorted_code(const std::array<float, 16>& map, const std::array<std::uint8_t, 16>& order) {
  sorted_code s{order, {}};
  for (std::size_t r = 0; r < 15; ++r) s.bounds[r] = (map[order[r]] + map[order[r + 1]]) / 2.0f;
  return s;
}
}  // namespace detail

// NF4 is sorted already. FP4: torch.argsort of get_4bit_type("fp4") as
// bitsandbytes 0.50 gets it on a CPU (the two zeros, nibbles 0 and 8, in index
// order; checked against the real library by the golden files).
inline constexpr detail::sorted_code nf4_sorted =
    detail::make_sorted_code(nf4_map, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
inline constexpr detail::sorted_code fp4_sorted =
    detail::make_sorted_code(fp4_map, {11, 10, 13, 12, 15, 14, 9, 0, 8, 1, 6, 7, 4, 5, 2, 3});

constexpr const detail::sorted_code& sorted_code_of(bnb_code code) noexcept {
  return code == bnb_code::nf4 ? nf4_sorted : fp4_sorted;
}

// torch.bucketize(x, bounds, right=False) is the number of bounds below x.
constexpr std::uint8_t encode_cpu(bnb_code code, float scaled) noexcept {
  const detail::sorted_code& s = sorted_code_of(code);
  std::size_t rank = 0;
  for (float bound : s.bounds) rank += bound < scaled ? 1 : 0;
  return s.order[rank];
}


// ---------------------------------------------------------------------------
// Checks shared by the reference and the SIMD API.

constexpr bool valid_blocksize(std::size_t blocksize) noexcept {
  return blocksize >= 32 && blocksize <= 4096 && (blocksize & (blocksize - 1)) == 0;
}


constexpr void check_4bit_sizes(const char* api, std::size_t n, std::size_t packed, std::size_t absmax,
                                std::size_t blocksize) {
  QMATH_REQUIRE(valid_blocksize(blocksize), api, "blocksize ", blocksize, " is not a power of two in [32, 4096]");
  const std::size_t bytes = ceil_div(n, 2), blocks = ceil_div(n, blocksize);
  QMATH_REQUIRE(packed == bytes, api, n, " values need ", bytes, " packed bytes, got ", packed);
  QMATH_REQUIRE(absmax == blocks, api, n, " values in blocks of ", blocksize, " need ", blocks,
                " absmax values, got ", absmax);
}

inline constexpr float cpu_min_divisor = 1e-38f;  // default/ops.py: absmax.clamp(min=1e-38)

// ---------------------------------------------------------------------------
// Scalar reference. `n` need not be a multiple of blocksize (bitsandbytes
// allows a partial last block); an odd n pads the last low nibble with the
// code of 0.0 (the CUDA kernel loads 0 there, default/ops.py pads with 0).

// One block in[begin, end) by either rule; returns the absmax to store.
constexpr float quantize_4bit_block(std::span<const float> in, std::size_t begin, std::size_t end, bool partial,
                                    std::span<std::uint8_t> packed, bnb_code code, bnb_backend backend,
                                    std::size_t block) {
  std::uint32_t max_bits = 0;
  for (std::size_t i = begin; i < end; ++i) max_bits = std::max(max_bits, abs_bits(in[i]));
  QMATH_REQUIRE(max_bits < non_finite_bits, "qmath::bnb::quantize_4bit", "NaN or infinity in block ", block);
  auto put = [&](std::size_t i, std::uint8_t high, std::uint8_t low) {
    packed[i / 2] = static_cast<std::uint8_t>(high << 4 | low);
  };
  if (backend == bnb_backend::cuda) {
    const float absmax = qmath::detail::float_from_bits(max_bits < min_normal_bits ? 0u : max_bits);
    if (absmax == 0.0f) {  // 0 * (1 / 0) = NaN: nibble 0 everywhere
      for (std::size_t i = begin; i < end; i += 2) put(i, 0, 0);
      return absmax;
    }
    const float local = 1.0f / absmax;
    auto nibble = [&](float x) {
      return encode(code, flush_subnormal(detail::rounded_product(flush_subnormal(x), local)));
    };
    for (std::size_t i = begin; i < end; i += 2) put(i, nibble(in[i]), i + 1 < end ? nibble(in[i + 1]) : nibble(0.0f));
    return absmax;
  }
  const float absmax = qmath::detail::float_from_bits(max_bits);
  const float divisor = absmax < cpu_min_divisor ? cpu_min_divisor : absmax;
  const float reciprocal = 1.0f / divisor;
  auto nibble = [&](float x) {  // the clamp to [-1, 1] that follows in ops.py changes no code
    return encode_cpu(code, partial ? qmath::detail::no_contract(x / divisor) : detail::rounded_product(x, reciprocal));
  };
  for (std::size_t i = begin; i < end; i += 2)
    put(i, nibble(in[i]), i + 1 < end ? nibble(in[i + 1]) : encode_cpu(code, 0.0f));
  return partial ? divisor : absmax;
}

constexpr void quantize_4bit_reference(std::span<const float> in, std::span<std::uint8_t> packed,
                                       std::span<float> absmax, bnb_code code, std::size_t blocksize = 64,
                                       bnb_backend backend = bnb_backend::cuda) {
  check_4bit_sizes("qmath::bnb::quantize_4bit", in.size(), packed.size(), absmax.size(), blocksize);
  const std::size_t n = in.size();
  for (std::size_t block = 0; block * blocksize < n; ++block) {
    const std::size_t begin = block * blocksize, end = std::min(n, begin + blocksize);
    absmax[block] = quantize_4bit_block(in, begin, end, end - begin < blocksize, packed, code, backend, block);
  }
}

constexpr void dequantize_4bit_reference(std::span<const std::uint8_t> packed, std::span<const float> absmax,
                                         std::span<float> out, const std::array<float, 16>& map,
                                         std::size_t blocksize = 64) {
  check_4bit_sizes("qmath::bnb::dequantize_4bit", out.size(), packed.size(), absmax.size(), blocksize);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::uint8_t byte = packed[i / 2];
    const std::uint8_t nibble = (i % 2 == 0) ? static_cast<std::uint8_t>(byte >> 4) : static_cast<std::uint8_t>(byte & 15);
    out[i] = map[nibble] * absmax[i / blocksize];
  }
}

}  // namespace bnb

namespace formats {

// A bitsandbytes 4-bit tensor in one self-contained qmath buffer of exactly
// storage_bytes(info, n) bytes (n a multiple of Blocksize), all little-endian:
//   without double quantization:
//     [n/2]            packed codes, bitsandbytes' nibble order
//     [4 * blocks]     absmax, fp32 per block
//     [64]             quant_map, 16 x fp32
//   with double quantization:
//     [n/2]            packed codes
//     [blocks]         qabsmax, one uint8 per block
//     [4 * groups]     absmax2, fp32 per 256 blocks (groups = ceil(blocks/256))
//     [4]              offset, fp32
//     [1024]           the 8-bit code table, 256 x fp32
//     [64]             quant_map, 16 x fp32
// The fp32 fields after a byte-sized field may be unaligned; read them with memcpy.
template <bnb_code Code, std::uint32_t Blocksize = 64, bool DoubleQuant = false>
struct bnb_4bit {
  static_assert(bnb::valid_blocksize(Blocksize), "qmath::formats::bnb_4bit: blocksize must be a power of two in [32, 4096]");
  static constexpr format_info info =
      bnb_4bit_info(Code == bnb_code::nf4 ? format_id::bnb_nf4 : format_id::bnb_fp4, Blocksize, DoubleQuant);
  static constexpr bnb_code code = Code;
  static constexpr std::uint32_t blocksize = Blocksize;
  static constexpr bool double_quant = DoubleQuant;

  struct layout {
    std::size_t blocks, groups;
    std::size_t codes, scales, absmax2, offset, code_table, quant_map, total;
  };
  // Byte offsets of each field for n elements.
  static constexpr layout layout_for(std::size_t n) {
    QMATH_REQUIRE(n % Blocksize == 0, "qmath::formats::bnb_4bit", n, " elements are not a whole number of blocks of ",
                  Blocksize);
    layout l{};
    l.blocks = n / Blocksize;
    l.groups = (l.blocks + 255) / 256;
    l.codes = 0;
    l.scales = n / 2;
    if constexpr (DoubleQuant) {
      l.absmax2 = l.scales + l.blocks;
      l.offset = l.absmax2 + 4 * l.groups;
      l.code_table = l.offset + 4;
      l.quant_map = l.code_table + 256 * 4;
    } else {
      l.absmax2 = l.offset = l.code_table = l.scales + 4 * l.blocks;
      l.quant_map = l.code_table;
    }
    l.total = n == 0 ? 0 : l.quant_map + 16 * 4;
    return l;
  }
};

using nf4 = bnb_4bit<bnb_code::nf4>;
using fp4 = bnb_4bit<bnb_code::fp4>;
using nf4_dq = bnb_4bit<bnb_code::nf4, 64, true>;
using fp4_dq = bnb_4bit<bnb_code::fp4, 64, true>;

}  // namespace formats
}  // namespace qmath
