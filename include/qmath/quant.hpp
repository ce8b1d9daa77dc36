#pragma once
// Formats and kernels: every format's descriptor and scalar reference
// (qmath/formats.hpp), the SIMD array kernels behind qmath::quantize<F>,
// qmath::dequantize<F> and qmath::convert, and the error metrics of
// qmath/quality.hpp. Includes xsimd unless QMATH_DISABLE_SIMD is set.

#include "qmath/formats.hpp"

#include "qmath/kernels/arch.hpp"
#include "qmath/kernels/quantize.hpp"
#include "qmath/kernels/fp_convert.hpp"
#include "qmath/kernels/q8_0.hpp"
#include "qmath/kernels/q4_0.hpp"
#include "qmath/kernels/q4_1.hpp"
#include "qmath/kernels/q5_0.hpp"
#include "qmath/kernels/q5_1.hpp"
#include "qmath/kernels/iq4_nl.hpp"
#include "qmath/kernels/q2_k.hpp"
#include "qmath/kernels/q4_k.hpp"
#include "qmath/kernels/q3_k.hpp"
#include "qmath/kernels/q5_k.hpp"
#include "qmath/kernels/q6_k.hpp"
#include "qmath/kernels/q8_k.hpp"
#include "qmath/kernels/iq4_xs.hpp"
#include "qmath/kernels/mxfp4.hpp"
#include "qmath/kernels/nvfp4.hpp"
#include "qmath/kernels/tq1_0.hpp"
#include "qmath/kernels/tq2_0.hpp"
#include "qmath/kernels/group_int2.hpp"
#include "qmath/kernels/bnb_4bit.hpp"
#include "qmath/kernels/bnb_int8.hpp"
#include "qmath/kernels/group_int4.hpp"

#include "qmath/quality.hpp"
