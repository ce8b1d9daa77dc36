#pragma once
// All of qmath's feature detection, in one place.
//
//   QMATH_DISABLE_SIMD   define to 1 to make every array kernel run its scalar
//                        reference (no xsimd code is instantiated).
//   QMATH_NO_EXCEPTIONS  define to 1 (or build with -fno-exceptions) to make a
//                        failed precondition print its message and abort.
//   QMATH_DISPATCH       1 when the qmath_dispatch library (runtime CPU
//                        dispatch, kernels/dispatch.hpp) is linked; set by
//                        CMake's qmath target, never by hand without it.

#include "qmath/version.hpp"

#if __cplusplus < 202002L && (!defined(_MSVC_LANG) || _MSVC_LANG < 202002L)
#error "qmath needs C++20"
#endif

#ifndef QMATH_DISABLE_SIMD
#define QMATH_DISABLE_SIMD 0
#endif

#ifndef QMATH_NO_EXCEPTIONS
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define QMATH_NO_EXCEPTIONS 0
#else
#define QMATH_NO_EXCEPTIONS 1
#endif
#endif

#ifndef QMATH_DISPATCH
#define QMATH_DISPATCH 0
#endif
