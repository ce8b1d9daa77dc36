#pragma once
// Private: byte and element counts computed with overflow checks. Include the
// public headers instead.
//
// Every size product in qmath (rows x cols, batch x context x layers, ...)
// goes through these, so a hostile shape or a plan near 2^64 is a
// qmath::error naming the API and the quantity instead of a count that wraps
// to something small and "fits". In a constant expression the same failure
// is a compile error (precondition_failed is not constexpr).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "qmath/error.hpp"

namespace qmath::detail {

// a * b, or a qmath::error "API: QUANTITY overflows 64 bits (a x b)".
constexpr std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, const char* api, const char* quantity) {
  std::uint64_t product = 0;
  const bool overflow = __builtin_mul_overflow(a, b, &product);
  QMATH_REQUIRE(!overflow, api, quantity, " overflows 64 bits (", a, " x ", b, ")");
  return product;
}

// a + b, or a qmath::error naming the quantity.
constexpr std::uint64_t checked_add(std::uint64_t a, std::uint64_t b, const char* api, const char* quantity) {
  std::uint64_t sum = 0;
  const bool overflow = __builtin_add_overflow(a, b, &sum);
  QMATH_REQUIRE(!overflow, api, quantity, " overflows 64 bits (", a, " + ", b, ")");
  return sum;
}

// The product of any number of factors, checked at every step.
template <class... Factors>
constexpr std::uint64_t checked_product(const char* api, const char* quantity, std::uint64_t first,
                                        Factors... rest) {
  std::uint64_t product = first;
  ((product = checked_mul(product, static_cast<std::uint64_t>(rest), api, quantity)), ...);
  return product;
}

// The sum of any number of terms, checked at every step.
template <class... Terms>
constexpr std::uint64_t checked_sum(const char* api, const char* quantity, std::uint64_t first, Terms... rest) {
  std::uint64_t sum = first;
  ((sum = checked_add(sum, static_cast<std::uint64_t>(rest), api, quantity)), ...);
  return sum;
}

// a - b for a >= b, or a qmath::error (an unsigned difference must not wrap).
constexpr std::uint64_t checked_sub(std::uint64_t a, std::uint64_t b, const char* api, const char* quantity) {
  QMATH_REQUIRE(a >= b, api, quantity, " would be negative (", a, " - ", b, ")");
  return a - b;
}

// A size_t count from a 64-bit one (identical on 64-bit targets; checked on
// 32-bit ones).
constexpr std::size_t checked_size(std::uint64_t value, const char* api, const char* quantity) {
  QMATH_REQUIRE(value <= std::numeric_limits<std::size_t>::max(), api, quantity, " (", value,
                ") does not fit size_t");
  return static_cast<std::size_t>(value);
}

// A double that is finite and within [low, high], or a qmath::error naming it.
// NaN fails every comparison, so it is rejected here too.
constexpr double checked_range(double value, double low, double high, const char* api, const char* quantity) {
  QMATH_REQUIRE(value >= low && value <= high, api, quantity, " must be in [", low, ", ", high, "], got ",
                value);
  return value;
}

// A non-negative finite double rounded up to a byte count, or a qmath::error
// when it is NaN, negative or >= 2^64 (a plain cast would be undefined).
constexpr std::uint64_t checked_bytes_from_double(double value, const char* api, const char* quantity) {
  QMATH_REQUIRE(value >= 0.0 && value < 18446744073709551616.0, api, quantity,
                " is out of range for a byte count (", value, ")");
  const auto truncated = static_cast<std::uint64_t>(value);
  return static_cast<double>(truncated) < value ? truncated + 1 : truncated;
}

// A non-negative finite double truncated toward zero to an integer count (what
// Python's int() does), or a qmath::error when it is NaN, negative or >= 2^64.
constexpr std::uint64_t checked_truncate_from_double(double value, const char* api, const char* quantity) {
  QMATH_REQUIRE(value >= 0.0 && value < 18446744073709551616.0, api, quantity,
                " is out of range for a 64-bit count (", value, ")");
  return static_cast<std::uint64_t>(value);
}

// A finite double >= 0, or a qmath::error naming it (NaN and infinity fail).
constexpr double checked_non_negative(double value, const char* api, const char* quantity) {
  return checked_range(value, 0.0, std::numeric_limits<double>::max(), api, quantity);
}

}  // namespace qmath::detail
