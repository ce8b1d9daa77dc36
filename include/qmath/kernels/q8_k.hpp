#pragma once
// Array kernels of GGUF Q8_K (formats/q8_k.hpp): qmath::quantize<formats::q8_k>
// and qmath::dequantize<formats::q8_k>. Every architecture writes the bytes
// and floats of the scalar reference.

#include <cstddef>
#include <span>

#include "qmath/formats/q8_k.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/detail/block_dispatch.hpp"
#include "qmath/kernels/quantize.hpp"

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::q8_k> : simd_or_reference<block_kernel<formats::q8_k>, formats::q8_k> {};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
