// qmath_tool formats for the floating-point conversions: "quantize" converts
// float32 to the format's bytes, "dequantize" back to float32.
//   f16, bf16, fp8-e4m3 (saturating, the default), fp8-e4m3-nosat,
//   fp8-e5m2 (non-saturating, the default), fp8-e5m2-sat
#include <cstring>
#include <optional>

#include "qmath/kernels/fp_convert.hpp"
#include "tool.hpp"

namespace {

template <class F>
qmath_tool::entry fp_entry(std::optional<qmath::fp8_overflow> mode = std::nullopt) {
  return {[mode](std::span<const float> in) {
            std::vector<F> out(in.size());
            if constexpr (qmath::fp8_format<F>) qmath::convert(in, std::span<F>(out), mode.value_or(qmath::default_fp8_overflow<F>));
            else {
              static_cast<void>(mode);  // fp16 and bf16 have no overflow mode
              qmath::convert(in, std::span<F>(out));
            }
            std::vector<std::byte> bytes(out.size() * sizeof(F));
            std::memcpy(bytes.data(), out.data(), bytes.size());
            return bytes;
          },
          [](std::span<const std::byte> in, std::size_t n) {
            QMATH_REQUIRE(in.size() == n * sizeof(F), "qmath_tool", "expected ", n * sizeof(F), " bytes, got ", in.size());
            std::vector<F> codes(n);
            std::memcpy(codes.data(), in.data(), in.size());
            std::vector<float> out(n);
            qmath::convert(std::span<const F>(codes), std::span<float>(out));
            return out;
          }};
}

QMATH_TOOL_REGISTER("f16", fp_entry<qmath::fp16>());
QMATH_TOOL_REGISTER("bf16", fp_entry<qmath::bf16>());
QMATH_TOOL_REGISTER("fp8-e4m3", fp_entry<qmath::fp8_e4m3>());
QMATH_TOOL_REGISTER("fp8-e4m3-nosat", fp_entry<qmath::fp8_e4m3>(qmath::fp8_overflow::no_saturate));
QMATH_TOOL_REGISTER("fp8-e5m2", fp_entry<qmath::fp8_e5m2>());
QMATH_TOOL_REGISTER("fp8-e5m2-sat", fp_entry<qmath::fp8_e5m2>(qmath::fp8_overflow::saturate));

}  // namespace
