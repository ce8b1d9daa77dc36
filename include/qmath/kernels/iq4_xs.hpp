#pragma once
// Array kernels of GGUF IQ4_XS (formats/iq4_xs.hpp): qmath::quantize<formats::iq4_xs>
// and qmath::dequantize<formats::iq4_xs>. Every architecture writes the bytes
// and floats of the scalar reference.

#include <cstddef>
#include <span>

#include "qmath/formats/iq4_xs.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/detail/block_dispatch.hpp"
#include "qmath/kernels/quantize.hpp"

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::iq4_xs> : simd_or_reference<block_kernel<formats::iq4_xs>, formats::iq4_xs> {};

}  // namespace qmath::kernels

#include "qmath/kernels/detail/diagnostics_end.hpp"
