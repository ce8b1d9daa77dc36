// Compile-time checks of the scalar conversions: compiling this file is the test.
// Values follow from the format definitions (IEEE binary16, bfloat16, OCP
// OFP8 E4M3FN / E5M2 as in PyTorch c10/util/Float8_e4m3fn.h, Float8_e5m2.h).
#include <bit>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "qmath/fp.hpp"

namespace {

using qmath::bf16;
using qmath::convert;
using qmath::fp16;
using qmath::fp8_e4m3;
using qmath::fp8_e5m2;
using qmath::fp8_overflow;

constexpr float inf = std::numeric_limits<float>::infinity();

static_assert(std::is_trivially_copyable_v<fp16> && std::is_trivially_copyable_v<bf16> &&
              std::is_trivially_copyable_v<fp8_e4m3> && std::is_trivially_copyable_v<fp8_e5m2>);
static_assert(sizeof(fp16) == 2 && sizeof(bf16) == 2 && sizeof(fp8_e4m3) == 1 && sizeof(fp8_e5m2) == 1);
static_assert(qmath::default_fp8_overflow<fp8_e4m3> == fp8_overflow::saturate);
static_assert(qmath::default_fp8_overflow<fp8_e5m2> == fp8_overflow::no_saturate);

// fp16
static_assert(convert<fp16>(1.0f).bits == 0x3c00);
static_assert(convert<fp16>(65504.0f).bits == 0x7bff && convert<fp16>(65520.0f).bits == 0x7c00);
static_assert(convert<fp16>(0x1p-24f).bits == 0x0001 && convert<fp16>(0x1p-25f).bits == 0x0000);
static_assert(convert<float>(fp16::from_bits(0x3555)) == 0x1.554p-2f);
static_assert(convert<double>(fp16::from_bits(0xfbff)) == -65504.0);
// bf16
static_assert(convert<bf16>(1.0f).bits == 0x3f80 && convert<bf16>(-inf).bits == 0xff80);
static_assert(convert<bf16>(1.00390625f).bits == 0x3f80 && convert<bf16>(1.01171875f).bits == 0x3f82);
static_assert(convert<float>(bf16::from_bits(0x4049)) == 3.140625f);
// fp8_e4m3
static_assert(convert<fp8_e4m3>(1.0f).bits == 0x38 && convert<fp8_e4m3>(-448.0f).bits == 0xfe);
static_assert(convert<fp8_e4m3>(464.0f).bits == 0x7e);
static_assert(convert<fp8_e4m3>(500.0f).bits == 0x7e && convert<fp8_e4m3>(500.0f, fp8_overflow::no_saturate).bits == 0x7f);
static_assert(convert<fp8_e4m3>(inf).bits == 0x7e && convert<fp8_e4m3>(-inf, fp8_overflow::no_saturate).bits == 0xff);
static_assert(convert<fp8_e4m3>(0x1p-9f).bits == 0x01 && convert<fp8_e4m3>(0x1p-10f).bits == 0x00);
static_assert(convert<float>(fp8_e4m3::from_bits(0x7e)) == 448.0f);
static_assert(convert<float>(fp8_e4m3::from_bits(0x83)) == -0x1.8p-8f);
static_assert(std::bit_cast<std::uint32_t>(convert<float>(fp8_e4m3::from_bits(0x7f))) == 0x7ff00000u);
// fp8_e5m2
static_assert(convert<fp8_e5m2>(1.0f).bits == 0x3c && convert<fp8_e5m2>(57344.0f).bits == 0x7b);
static_assert(convert<fp8_e5m2>(61440.0f).bits == 0x7c && convert<fp8_e5m2>(61440.0f, fp8_overflow::saturate).bits == 0x7b);
static_assert(convert<fp8_e5m2>(0x1p-16f).bits == 0x01 && convert<fp8_e5m2>(0x1p-17f).bits == 0x00);
static_assert(convert<fp8_e5m2>(std::numeric_limits<float>::quiet_NaN()).bits == 0x7e);
static_assert(convert<float>(fp8_e5m2::from_bits(0xc0)) == -2.0f);
// format -> format
static_assert(convert<fp8_e5m2>(fp16::from_bits(0x3c00)).bits == 0x3c);
static_assert(convert<bf16>(fp8_e4m3::from_bits(0x7e)).bits == 0x43e0);

}  // namespace
