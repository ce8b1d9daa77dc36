// qmath_tool formats of the bitsandbytes and GPTQ/AWQ area, in qmath's
// self-contained buffer layouts (formats/bnb_4bit.hpp, bnb_int8.hpp,
// group_int4.hpp). Names without a suffix run the default architecture's
// kernels, "<name>/scalar" the constexpr reference.
//   nf4, fp4, nf4-dq, fp4-dq           blocksize 64
//   nf4-bs32, fp4-bs4096, nf4-dq-bs256 other blocksizes
//   int8-rowwise-256                   rows of 256, threshold 0
//   gptq-int4-256-g64, gptq-v2-int4-256-g64, awq-int4-256-g64, awq-int4-128-g128, gptq-int4-128-g32
//                                      W [n/in, in] row-major, in = the first number, group = g
#include <qmath/kernels/bnb_4bit.hpp>
#include <qmath/kernels/bnb_int8.hpp>
#include <qmath/kernels/group_int4.hpp>

#include "tool.hpp"

namespace {

using qmath::bnb_code;
using qmath::default_arch;
using qmath::scalar_arch;
namespace f = qmath::formats;

}  // namespace

QMATH_TOOL_REGISTER("nf4", qmath_tool::kernel_entry<f::nf4, default_arch>());
QMATH_TOOL_REGISTER("fp4", qmath_tool::kernel_entry<f::fp4, default_arch>());
QMATH_TOOL_REGISTER("nf4-dq", qmath_tool::kernel_entry<f::nf4_dq, default_arch>());
QMATH_TOOL_REGISTER("fp4-dq", qmath_tool::kernel_entry<f::fp4_dq, default_arch>());
QMATH_TOOL_REGISTER("nf4-bs32", qmath_tool::kernel_entry<f::bnb_4bit<bnb_code::nf4, 32>, default_arch>());
QMATH_TOOL_REGISTER("fp4-bs4096", qmath_tool::kernel_entry<f::bnb_4bit<bnb_code::fp4, 4096>, default_arch>());
QMATH_TOOL_REGISTER("nf4-dq-bs256", qmath_tool::kernel_entry<f::bnb_4bit<bnb_code::nf4, 256, true>, default_arch>());
QMATH_TOOL_REGISTER("nf4/scalar", qmath_tool::kernel_entry<f::nf4, scalar_arch>());
QMATH_TOOL_REGISTER("fp4/scalar", qmath_tool::kernel_entry<f::fp4, scalar_arch>());
QMATH_TOOL_REGISTER("nf4-dq/scalar", qmath_tool::kernel_entry<f::nf4_dq, scalar_arch>());
QMATH_TOOL_REGISTER("int8-rowwise-256", qmath_tool::kernel_entry<f::int8_rowwise<256>, default_arch>());
QMATH_TOOL_REGISTER("int8-rowwise-256/scalar", qmath_tool::kernel_entry<f::int8_rowwise<256>, scalar_arch>());
QMATH_TOOL_REGISTER("gptq-int4-256-g64", qmath_tool::kernel_entry<f::gptq_int4<256, 64>, default_arch>());
QMATH_TOOL_REGISTER("gptq-v2-int4-256-g64", qmath_tool::kernel_entry<f::gptq_v2_int4<256, 64>, default_arch>());
QMATH_TOOL_REGISTER("awq-int4-256-g64", qmath_tool::kernel_entry<f::awq_int4<256, 64>, default_arch>());
QMATH_TOOL_REGISTER("awq-int4-128-g128", qmath_tool::kernel_entry<f::awq_int4<128, 128>, default_arch>());
QMATH_TOOL_REGISTER("gptq-int4-128-g32", qmath_tool::kernel_entry<f::gptq_int4<128, 32>, default_arch>());
QMATH_TOOL_REGISTER("awq-int4-256-g64/scalar", qmath_tool::kernel_entry<f::awq_int4<256, 64>, scalar_arch>());
QMATH_TOOL_REGISTER("gptq-int4-256-g64/scalar", qmath_tool::kernel_entry<f::gptq_int4<256, 64>, scalar_arch>());
