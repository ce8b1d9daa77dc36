#pragma once
// Array kernels of GGUF Q3_K (formats/q3_k.hpp): qmath::quantize<formats::q3_k>
// and qmath::dequantize<formats::q3_k>. Every architecture writes the bytes
// and floats of the scalar reference.

#include <cstddef>
#include <span>

#include "qmath/formats/q3_k.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/detail/block_dispatch.hpp"
#include "qmath/kernels/quantize.hpp"

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::q3_k> : simd_or_reference<block_kernel<formats::q3_k>, formats::q3_k> {};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
