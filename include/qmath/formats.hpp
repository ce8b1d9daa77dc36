#pragma once
// Every storage format as a constexpr descriptor with its scalar reference:
// the format table, the floating-point types and the block formats. Usable in
// constant expressions; does not include xsimd (the array kernels are in
// qmath/quant.hpp).

#include "qmath/formats/format_info.hpp"
#include "qmath/formats/table.hpp"
#include "qmath/fp.hpp"

#include "qmath/formats/q8_0.hpp"
#include "qmath/formats/q4_0.hpp"
#include "qmath/formats/q4_1.hpp"
#include "qmath/formats/q5_0.hpp"
#include "qmath/formats/q5_1.hpp"
#include "qmath/formats/iq4_nl.hpp"
#include "qmath/formats/q2_k.hpp"
#include "qmath/formats/q4_k.hpp"
#include "qmath/formats/q3_k.hpp"
#include "qmath/formats/q5_k.hpp"
#include "qmath/formats/q6_k.hpp"
#include "qmath/formats/q8_k.hpp"
#include "qmath/formats/iq4_xs.hpp"
#include "qmath/formats/mxfp4.hpp"
#include "qmath/formats/nvfp4.hpp"
#include "qmath/formats/tq1_0.hpp"
#include "qmath/formats/tq2_0.hpp"
#include "qmath/formats/group_int2.hpp"
#include "qmath/formats/ternary.hpp"
#include "qmath/formats/bnb_4bit.hpp"
#include "qmath/formats/bnb_int8.hpp"
#include "qmath/formats/group_int4.hpp"
#include "qmath/formats/fp8_checkpoint.hpp"
#include "qmath/formats/reference.hpp"
