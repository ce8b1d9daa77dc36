#pragma once
// The scalar side of qmath's floating-point formats: the storage types
// qmath::fp16, bf16, fp8_e4m3, fp8_e5m2 and the constexpr qmath::convert<To>.
// Free of xsimd; the array conversions are in qmath/kernels/fp_convert.hpp.

#include "qmath/fp/bf16.hpp"
#include "qmath/fp/convert.hpp"
#include "qmath/fp/fp16.hpp"
#include "qmath/fp/fp8.hpp"
