#pragma once
// Private: the block formats whose kernels the dispatch tables hold
// (kernels/dispatch.hpp). Add a format here, once its kernel header is in
// qmath/quant.hpp, to have default-flag builds run its best kernels; a format
// not listed runs the kernels its translation unit is compiled for.

#include "qmath/formats.hpp"

namespace qmath::kernels::dispatch {

using dispatched_formats =
    type_list<formats::q8_0, formats::q4_0, formats::q4_1, formats::q5_0, formats::q5_1, formats::iq4_nl,
              formats::q2_k, formats::tq1_0, formats::tq2_0, formats::int2_group<64>, formats::nf4, formats::fp4,
              formats::nf4_dq, formats::fp4_dq>;

}  // namespace qmath::kernels::dispatch
