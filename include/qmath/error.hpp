#pragma once
// qmath's one error type and the precondition macro every API uses.
//
// A failed precondition at run time throws qmath::error with a message that
// names the API and the values involved (or prints it and aborts when
// exceptions are off). In a constant expression the same check calls
// detail::precondition_failed, which is deliberately not constexpr, so misuse
// becomes a compile error that names the function and the failed condition.

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>

#include "qmath/config.hpp"

namespace qmath {

class error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

namespace detail {

template <class... Parts>
[[noreturn]] inline void precondition_failed(const char* api, const Parts&... parts) {
  std::ostringstream message;
  message << api << ": ";
  ((message << parts), ...);
#if QMATH_NO_EXCEPTIONS
  std::fprintf(stderr, "qmath error: %s\n", message.str().c_str());
  std::abort();
#else
  throw error(message.str());
#endif
}

}  // namespace detail
}  // namespace qmath

// QMATH_REQUIRE(condition, "qmath::api_name", "text ", value, " more text", ...)
#define QMATH_REQUIRE(condition, ...) \
  ((condition) ? static_cast<void>(0) : ::qmath::detail::precondition_failed(__VA_ARGS__))
