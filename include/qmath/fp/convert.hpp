#pragma once
// qmath::convert<To>(from): constexpr scalar conversion between float and
// the storage formats fp16, bf16, fp8_e4m3 and fp8_e5m2, usable in constant
// expressions.
//
//   convert<fp16>(1.5f)                              float  -> format (RNE)
//   convert<fp8_e4m3>(500.f, fp8_overflow::no_saturate)  -> NaN instead of 448
//   convert<float>(bf16::from_bits(0x3f80))          format -> float (exact)
//   convert<double>(fp16{...})                       format -> double (exact)
//   convert<fp8_e5m2>(fp16{...})                     format -> format: widened
//                                                    exactly to float, then
//                                                    rounded once
//
// The rounding, subnormal, overflow and NaN rules of each format are in
// fp16.hpp, bf16.hpp and fp8.hpp. The array forms (with SIMD kernels) are in
// qmath/kernels/fp_convert.hpp.

#include <concepts>
#include <type_traits>

#include "qmath/fp/bf16.hpp"
#include "qmath/fp/fp16.hpp"
#include "qmath/fp/fp8.hpp"

namespace qmath {

// The storage formats qmath converts to and from float.
template <class T>
concept fp_format = std::same_as<T, fp16> || std::same_as<T, bf16> || std::same_as<T, fp8_e4m3> ||
                    std::same_as<T, fp8_e5m2>;

template <class T>
concept fp8_format = std::same_as<T, fp8_e4m3> || std::same_as<T, fp8_e5m2>;

namespace detail {

template <fp_format To>
constexpr To from_float(float value, fp8_overflow mode) noexcept {
  if constexpr (std::same_as<To, fp16>) return fp16::from_bits(fp16_bits_from_float(value));
  else if constexpr (std::same_as<To, bf16>) return bf16::from_bits(bf16_bits_from_float(value));
  else return To::from_bits(fp8_bits_from_float<To>(value, mode));
}

template <fp_format From>
constexpr float to_float(From value) noexcept {
  if constexpr (std::same_as<From, fp16>) return fp16_bits_to_float(value.bits);
  else if constexpr (std::same_as<From, bf16>) return bf16_bits_to_float(value.bits);
  else if constexpr (std::same_as<From, fp8_e4m3>) return fp8_e4m3_bits_to_float(value.bits);
  else return fp8_e5m2_bits_to_float(value.bits);
}

template <class T>
inline constexpr fp8_overflow overflow_default_for = fp8_overflow::no_saturate;  // unused by fp16/bf16
template <fp8_format T>
inline constexpr fp8_overflow overflow_default_for<T> = default_fp8_overflow<T>;

}  // namespace detail

// float -> format, and format -> format (exact widening, then one rounding).
template <fp_format To, class From>
  requires std::same_as<From, float> || fp_format<From>
constexpr To convert(From from) noexcept {
  if constexpr (std::same_as<From, float>) return detail::from_float<To>(from, detail::overflow_default_for<To>);
  else return detail::from_float<To>(detail::to_float(from), detail::overflow_default_for<To>);
}

// float (or a format) -> fp8 with an explicit overflow mode.
template <fp8_format To, class From>
  requires std::same_as<From, float> || fp_format<From>
constexpr To convert(From from, fp8_overflow mode) noexcept {
  if constexpr (std::same_as<From, float>) return detail::from_float<To>(from, mode);
  else return detail::from_float<To>(detail::to_float(from), mode);
}

// format -> float or double (exact).
template <class To, fp_format From>
  requires std::same_as<To, float> || std::same_as<To, double>
constexpr To convert(From from) noexcept {
  return static_cast<To>(detail::to_float(from));
}

}  // namespace qmath
