#pragma once
// Private helpers: constexpr bit casts and integer arithmetic used by every
// format. Include the public headers instead.

#include <bit>
#include <cstdint>
#include <type_traits>

namespace qmath::detail {

constexpr std::uint32_t float_bits(float value) noexcept { return std::bit_cast<std::uint32_t>(value); }
constexpr float float_from_bits(std::uint32_t bits) noexcept { return std::bit_cast<float>(bits); }

// Exact ceil(a / b) for unsigned integers.
constexpr std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) noexcept { return a / b + (a % b != 0); }

// Rounds a right shift of `value` by `shift` bits to nearest, ties to even.
constexpr std::uint32_t shift_right_round_even(std::uint32_t value, unsigned shift) noexcept {
  if (shift == 0) return value;
  if (shift >= 32) return 0;
  const std::uint32_t kept = value >> shift;
  const std::uint32_t rest = value & ((std::uint32_t{1} << shift) - 1);
  const std::uint32_t half = std::uint32_t{1} << (shift - 1);
  return kept + ((rest > half || (rest == half && (kept & 1u))) ? 1u : 0u);
}

// Returns `value` as a rounded float that the compiler may not fuse with the
// operation that consumes it. GCC contracts a*b+c into an FMA by default in
// C++ (-ffp-contract=fast), even across statements and in auto-vectorised
// loops, which changes the last bit; the published reference quantizers round
// the product first. An empty asm that "modifies" the value is opaque to the
// optimiser (GCC 12's __builtin_assoc_barrier is not enough once a loop is
// vectorised). Constant evaluation never contracts.
constexpr float no_contract(float value) noexcept {
  if (!std::is_constant_evaluated()) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __asm__("" : "+x"(value));
#elif defined(__GNUC__) && defined(__aarch64__)
    __asm__("" : "+w"(value));
#endif
  }
  return value;
}

}  // namespace qmath::detail
