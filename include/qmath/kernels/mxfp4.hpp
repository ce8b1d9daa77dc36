#pragma once
// Array kernels of GGUF MXFP4 (formats/mxfp4.hpp): qmath::quantize<formats::mxfp4>
// and qmath::dequantize<formats::mxfp4>. Every architecture writes the bytes
// and floats of the scalar reference.

#include <cstddef>
#include <span>

#include "qmath/formats/mxfp4.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/detail/block_dispatch.hpp"
#include "qmath/kernels/quantize.hpp"

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::mxfp4> : simd_or_reference<block_kernel<formats::mxfp4>, formats::mxfp4> {};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
