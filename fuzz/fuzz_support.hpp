#pragma once
// What the fuzz targets that check properties share: a failed property
// aborts (libFuzzer then keeps the input), and qmath::error is the one
// exception an entry point may throw.
#include <qmath/error.hpp>

#include <cstdio>
#include <cstdlib>

namespace qmath_fuzz {

[[noreturn]] inline void fail(const char* target, const char* what) {
  std::fprintf(stderr, "%s: %s\n", target, what);
  std::abort();
}

// Runs f(), returning false when it threw qmath::error. Any other exception
// propagates to libFuzzer, which reports it as a crash.
template <class F>
bool ok(F&& f) {
  try {
    f();
    return true;
  } catch (const qmath::error&) {
    return false;
  }
}

}  // namespace qmath_fuzz
