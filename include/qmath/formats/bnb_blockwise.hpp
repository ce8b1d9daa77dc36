#pragma once
// bitsandbytes' 8-bit blockwise quantization (quantize_blockwise with the
// signed dynamic map), as double quantization of the NF4/FP4 absmax uses it:
// the 256-entry code table, both quantizers whose bytes checkpoints hold, and
// torch's float32 mean that gives the offset. No xsimd here.
//
// Double quantization (functional.py quantize_4bit, compress_statistics=True):
//   offset  = absmax.mean()                        (torch, float32)
//   qabsmax, state2 = quantize_blockwise(absmax - offset, blocksize=256)
// restored (functional.py dequantize_4bit):
//   absmax  = fp32(code[q] * absmax2[group]) + offset
//
// The two 8-bit quantizers (bnb_backend, as for the 4-bit codes):
//  * cuda: kQuantizeBlockwise<General8bit> under --use_fast_math: absmax of the
//    flushed values, local = 1 / absmax, dQuantize<0> on flush(flush(x) * local):
//    a 7-step descent from index 127 and a float32 midpoint test (a value on
//    the midpoint takes the descent pivot). An absmax of 0 gives NaN, which the
//    descent walks down to index 0.
//  * cpu: bitsandbytes 0.50's native quantize_cpu (csrc/cpu_ops.cpp
//    quantize_cpu_impl, build_quantize_lut): x * (1 / absmax) clamped to
//    [-1, 1] picks one of 65536 bins, index = (uint16)((v + 1) * 0.5 * 65535 +
//    0.5) with each operation rounded to float; bin i stands for the value
//    -1 + 2i / 65535 and holds the first code whose upper float32 midpoint
//    0.5 * (c[k] + c[k+1]) is not below it. So a value takes the code nearest
//    its bin, not itself: where codes are closer than a bin (2 / 65535, near
//    0) the CPU picks differently from the GPU. An absmax of 0 codes as 0.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "qmath/detail/bits.hpp"
#include "qmath/error.hpp"
#include "qmath/formats/bnb_backend.hpp"
#include "qmath/formats/bnb_int8.hpp"

namespace qmath {

namespace bnb {

// n / k rounded up, without n + k - 1 (which wraps for n near 2^64).
constexpr std::size_t ceil_div(std::size_t n, std::size_t k) noexcept { return n / k + (n % k != 0 ? 1 : 0); }

// Bits of |x| as an integer; |x| of every finite float orders like its bits,
// and NaN or infinity has bits >= 0x7F800000.
constexpr std::uint32_t abs_bits(float x) noexcept { return qmath::detail::float_bits(x) & 0x7FFFFFFFu; }
inline constexpr std::uint32_t non_finite_bits = 0x7F800000u;

// --use_fast_math flushes subnormal operands and results to zero (the sign of
// the zero does not matter to any of bitsandbytes' code searches).
inline constexpr std::uint32_t min_normal_bits = 0x00800000u;
constexpr float flush_subnormal(float x) noexcept { return abs_bits(x) < min_normal_bits ? 0.0f : x; }

// ---------------------------------------------------------------------------
// The signed 8-bit dynamic map: functional.py create_dynamic_map(signed=True,
// max_exponent_bits=7, total_bits=8). For i in 0..6: boundaries =
// torch.linspace(0.1, 1, 2^i + 1) in float32, means = (b[:-1] + b[1:]) / 2,
// values +-10^(i-6) * means (the Python float rounded to float32, as torch
// multiplies a float32 tensor by a scalar); then 0 and 1.0; sorted.
// torch's CPU linspace (aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp):
// step = (end - start) / (steps - 1) in float; element idx is start + step*idx
// below steps/2 and end - step*(steps-1-idx) from there, each a fused
// multiply-add (torch's vectorized kernel; the golden files check all 256
// values against bitsandbytes' own table: unfused, 24 of them differ).
namespace detail {

// fma(a, b, c) for the linspace operands (b a small integer): a * b + c is
// exact in double (float products of <= 31 bits, sums of values in [0.1, 1]),
// so one conversion to float is the single rounding of a fused operation.
constexpr float fused_multiply_add(float a, float b, float c) noexcept {
  return static_cast<float>(static_cast<double>(a) * static_cast<double>(b) + static_cast<double>(c));
}

constexpr float torch_linspace_f32(float start, float end, int steps, int idx) noexcept {
  const float step = (end - start) / static_cast<float>(steps - 1);
  if (idx < steps / 2) return fused_multiply_add(step, static_cast<float>(idx), start);
  return fused_multiply_add(-step, static_cast<float>(steps - idx - 1), end);
}

constexpr std::array<float, 256> make_dynamic_map() noexcept {
  std::array<float, 256> values{};
  std::size_t count = 0;
  constexpr double powers[7] = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0};  // 10^(i-6) as Python computes it
  const float start = static_cast<float>(0.1);
  for (int i = 0; i < 7; ++i) {
    const int steps = (1 << i) + 1;
    const float scale = static_cast<float>(powers[i]);
    for (int j = 0; j + 1 < steps; ++j) {
      const float mean =
          (torch_linspace_f32(start, 1.0f, steps, j) + torch_linspace_f32(start, 1.0f, steps, j + 1)) / 2.0f;
      values[count] = scale * mean;
      values[count + 128] = -scale * mean;
      ++count;
    }
  }
  values[count] = 0.0f;        // count == 127
  values[count + 128] = 1.0f;  // slot 255
  std::sort(values.begin(), values.end());
  return values;
}

}  // namespace detail

inline constexpr std::array<float, 256> dynamic_map = detail::make_dynamic_map();

// ---------------------------------------------------------------------------
// cuda: kernels.cu dQuantize<0>. NaN walks down to index 0.
constexpr std::uint8_t encode_dynamic(const std::array<float, 256>& code, float x) noexcept {
  int pivot = 127, upper_pivot = 255, lower_pivot = 0;
  float lower = -1.0f, upper = 1.0f;
  float value = code[127];
  for (int step = 64; step > 0; step >>= 1) {
    if (x > value) {
      lower_pivot = pivot;
      lower = value;
      pivot += step;
    } else {
      upper_pivot = pivot;
      upper = value;
      pivot -= step;
    }
    value = code[static_cast<std::size_t>(pivot)];
  }
  if (upper_pivot == 255) upper = code[255];
  if (lower_pivot == 0) lower = code[0];
  if (x > value) {
    const float midpoint = (upper + value) * 0.5f;
    return static_cast<std::uint8_t>(x > midpoint ? upper_pivot : pivot);
  }
  const float midpoint = (lower + value) * 0.5f;
  return static_cast<std::uint8_t>(x < midpoint ? lower_pivot : pivot);
}

// cpu: quantize_cpu_impl's 65536-bin table for one code table.
class lut_coder {
 public:
  static constexpr std::size_t bins = 65536;

  constexpr explicit lut_coder(const std::array<float, 256>& code) : lut_(bins) {
    std::array<float, 255> midpoints{};
    for (std::size_t k = 0; k < 255; ++k) midpoints[k] = 0.5f * (code[k] + code[k + 1]);
    std::size_t k = 0;
    for (std::size_t i = 0; i < bins; ++i) {
      const float bin_value = -1.0f + qmath::detail::no_contract(2.0f * static_cast<float>(i) / 65535.0f);
      while (k < 255 && midpoints[k] < bin_value) ++k;
      lut_[i] = static_cast<std::uint8_t>(k);
    }
  }

  // norm_to_lut_index: clamp, then ((v + 1) * 0.5) * 65535 + 0.5 truncated.
  static constexpr std::uint16_t bin(float normed) noexcept {
    const float v = normed < -1.0f ? -1.0f : (normed > 1.0f ? 1.0f : normed);
    const float half = qmath::detail::no_contract((v + 1.0f) * 0.5f);
    return static_cast<std::uint16_t>(qmath::detail::no_contract(half * 65535.0f) + 0.5f);
  }

  constexpr std::uint8_t encode(float normed) const noexcept { return lut_[bin(normed)]; }

 private:
  std::vector<std::uint8_t> lut_;
};

// ---------------------------------------------------------------------------
// 8-bit blockwise quantization (quantize_blockwise) by either rule; q has one
// byte per value, absmax one float per block. NaN or infinity is an error.
constexpr void quantize_8bit_reference(std::span<const float> in, std::span<std::uint8_t> q, std::span<float> absmax,
                                       const std::array<float, 256>& code, std::size_t blocksize = 256,
                                       bnb_backend backend = bnb_backend::cuda) {
  constexpr const char* api = "qmath::bnb::quantize_blockwise";
  QMATH_REQUIRE(q.size() == in.size(), api, "output has ", q.size(), " bytes for ", in.size(), " values");
  QMATH_REQUIRE(blocksize > 0 && absmax.size() == ceil_div(in.size(), blocksize), api, "absmax has ", absmax.size(),
                " values for ", in.size(), " values in blocks of ", blocksize);
  std::vector<lut_coder> lut;  // built only for the CPU rule
  if (backend == bnb_backend::cpu) lut.emplace_back(code);
  for (std::size_t block = 0; block * blocksize < in.size(); ++block) {
    const std::size_t begin = block * blocksize, end = std::min(in.size(), begin + blocksize);
    std::uint32_t max_bits = 0;
    for (std::size_t i = begin; i < end; ++i) max_bits = std::max(max_bits, abs_bits(in[i]));
    QMATH_REQUIRE(max_bits < non_finite_bits, api, "NaN or infinity in block ", block);
    if (backend == bnb_backend::cuda && max_bits < min_normal_bits) max_bits = 0;  // flushed
    const float block_absmax = qmath::detail::float_from_bits(max_bits);
    absmax[block] = block_absmax;
    if (block_absmax == 0.0f) {  // cpu: codes 0; cuda: 0 * inf = NaN, which dQuantize takes to 0
      for (std::size_t i = begin; i < end; ++i) q[i] = 0;
      continue;
    }
    const float local = 1.0f / block_absmax;
    for (std::size_t i = begin; i < end; ++i)
      q[i] = backend == bnb_backend::cpu
                 ? lut.front().encode(detail::rounded_product(in[i], local))
                 : encode_dynamic(code, flush_subnormal(detail::rounded_product(flush_subnormal(in[i]), local)));
  }
}

// ---------------------------------------------------------------------------
// torch's float32 sum on a CPU (aten/src/ATen/native/cpu/SumKernel.cpp,
// cascade_sum): the vectorized inner sum over 8-float lanes, each lane summed
// by row_sum (4 interleaved partial sums, each a multi-level cascade of
// 2^max(4, ceil(log2 n) / 4) elements per level), the tail and the lanes added
// last (fewer than 8 values: the same row_sum over single floats); above 32768 elements (at::internal::GRAIN_SIZE) torch splits the range
// into `threads` equal chunks (torch.get_num_threads()) and adds their sums in
// order. The golden files check it against torch for 1 to 10^6 elements.
namespace detail {

inline constexpr std::size_t torch_sum_lanes = 8;
inline constexpr std::size_t torch_grain_size = 32768;

constexpr std::size_t torch_ceil_log2(std::size_t x) noexcept {
  if (x <= 2) return 1;
  std::size_t bits = 0;
  for (std::size_t v = x - 1; v != 0; v >>= 1) ++bits;
  return bits;
}

template <std::size_t Lanes>
using lanes = std::array<float, Lanes>;

template <std::size_t Lanes>
constexpr void add_lanes(lanes<Lanes>& acc, const lanes<Lanes>& x) noexcept {
  for (std::size_t l = 0; l < Lanes; ++l) acc[l] += x[l];
}

// multi_row_sum<vacc_t, 4> over vectors of Lanes floats (1: the scalar kernel):
// element i of row k is vector (i * 4 + k).
template <std::size_t Lanes>
constexpr std::array<lanes<Lanes>, 4> torch_multi_row_sum(std::span<const float> x, std::size_t size) noexcept {
  constexpr std::size_t levels = 4;
  const std::size_t level_power = std::max<std::size_t>(4, torch_ceil_log2(size) / levels);
  const std::size_t level_step = std::size_t{1} << level_power, level_mask = level_step - 1;
  std::array<std::array<lanes<Lanes>, 4>, levels> acc{};
  auto vector_at = [&](std::size_t v) {
    lanes<Lanes> out{};
    for (std::size_t l = 0; l < Lanes; ++l) out[l] = x[v * Lanes + l];
    return out;
  };
  std::size_t i = 0;
  while (i + level_step <= size) {
    for (std::size_t j = 0; j < level_step; ++j, ++i)
      for (std::size_t k = 0; k < 4; ++k) add_lanes(acc[0][k], vector_at(i * 4 + k));
    for (std::size_t j = 1; j < levels; ++j) {
      for (std::size_t k = 0; k < 4; ++k) {
        add_lanes(acc[j][k], acc[j - 1][k]);
        acc[j - 1][k] = lanes<Lanes>{};
      }
      if ((i & (level_mask << (j * level_power))) != 0) break;
    }
  }
  for (; i < size; ++i)
    for (std::size_t k = 0; k < 4; ++k) add_lanes(acc[0][k], vector_at(i * 4 + k));
  for (std::size_t j = 1; j < levels; ++j)
    for (std::size_t k = 0; k < 4; ++k) add_lanes(acc[0][k], acc[j][k]);
  return acc[0];
}

// row_sum<Lanes>: the 4 partial sums of x viewed as (-1, 4) vectors, the tail vectors into the first.
template <std::size_t Lanes>
constexpr lanes<Lanes> torch_row_sum(std::span<const float> x, std::size_t vectors) noexcept {
  std::array<lanes<Lanes>, 4> partial = torch_multi_row_sum<Lanes>(x, vectors / 4);
  for (std::size_t v = vectors / 4 * 4; v < vectors; ++v)
    for (std::size_t l = 0; l < Lanes; ++l) partial[0][l] += x[v * Lanes + l];
  for (std::size_t k = 1; k < 4; ++k) add_lanes(partial[0], partial[k]);
  return partial[0];
}

// Fewer values than a vector: torch's scalar kernel (row_sum over single floats).
constexpr float torch_serial_sum(std::span<const float> x) noexcept {
  if (x.size() < torch_sum_lanes) return torch_row_sum<1>(x, x.size())[0];
  const std::size_t vectors = x.size() / torch_sum_lanes;
  const lanes<torch_sum_lanes> partial = torch_row_sum<torch_sum_lanes>(x, vectors);
  float total = 0.0f;
  for (std::size_t i = vectors * torch_sum_lanes; i < x.size(); ++i) total += x[i];
  for (float lane : partial) total += lane;
  return total;
}

}  // namespace detail

constexpr float torch_cpu_sum(std::span<const float> x, std::size_t threads = 1) noexcept {
  if (x.size() <= detail::torch_grain_size || threads <= 1) return detail::torch_serial_sum(x);
  const std::size_t tasks = ceil_div(x.size(), detail::torch_grain_size);
  const std::size_t chunks = std::min(threads, tasks), chunk = ceil_div(x.size(), chunks);
  float total = 0.0f;
  for (std::size_t begin = 0; begin < x.size(); begin += chunk)
    total += detail::torch_serial_sum(x.subspan(begin, std::min(chunk, x.size() - begin)));
  return total;
}

// Tensor.mean() on a CPU: the float32 sum divided by the count in float32.
constexpr float torch_cpu_mean(std::span<const float> x, std::size_t threads = 1) noexcept {
  return x.empty() ? 0.0f : torch_cpu_sum(x, threads) / static_cast<float>(x.size());
}

// ---------------------------------------------------------------------------
// Double quantization of a 4-bit absmax array.

inline constexpr std::size_t dq_blocksize = 256;  // functional.py quantize_4bit: quantize_blockwise(..., blocksize=256)

// How the offset and the 8-bit codes are computed. The offset is stored, so
// reading a state never depends on it; writing one does, through absmax - offset.
struct dq_options {
  bnb_backend backend = bnb_backend::cuda;
  // torch.get_num_threads() of the run being reproduced (the mean of more than
  // 32768 blocks depends on it); a GPU's mean uses another summation order,
  // which qmath does not reproduce (it takes torch's CPU order for both).
  std::size_t mean_threads = 1;
};

// fp32(fp32(code[q] * absmax2) + offset): dequantize_blockwise, then `+= offset`.
constexpr float restore_absmax(const std::array<float, 256>& code, std::uint8_t q, float absmax2, float offset) noexcept {
  return detail::rounded_product(code[q], absmax2) + offset;
}

// Returns the offset; qabsmax has one byte per block, absmax2 one float per 256 blocks.
constexpr float compress_absmax_reference(std::span<const float> absmax, std::span<std::uint8_t> qabsmax,
                                          std::span<float> absmax2, const std::array<float, 256>& code = dynamic_map,
                                          dq_options options = {}) {
  const float offset = torch_cpu_mean(absmax, options.mean_threads);
  std::vector<float> centred(absmax.size());
  for (std::size_t i = 0; i < absmax.size(); ++i) centred[i] = absmax[i] - offset;
  quantize_8bit_reference(centred, qabsmax, absmax2, code, dq_blocksize, options.backend);
  return offset;
}

}  // namespace bnb
}  // namespace qmath
