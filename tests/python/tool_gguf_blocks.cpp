// qmath_tool formats of the GGUF 32-element blocks: "q8_0", "q4_0", "q4_1",
// "q5_0", "q5_1", "iq4_nl" run the default architecture's kernels, "<name>/scalar" the
// constexpr reference, so the Python tests can check both against gguf-py.
#include <qmath/kernels/iq4_nl.hpp>
#include <qmath/kernels/q4_0.hpp>
#include <qmath/kernels/q4_1.hpp>
#include <qmath/kernels/q5_0.hpp>
#include <qmath/kernels/q5_1.hpp>
#include <qmath/kernels/q8_0.hpp>

#include "tool.hpp"

namespace {

}  // namespace

QMATH_TOOL_REGISTER("q8_0", qmath_tool::kernel_entry<qmath::formats::q8_0, qmath::default_arch>());
QMATH_TOOL_REGISTER("q4_0", qmath_tool::kernel_entry<qmath::formats::q4_0, qmath::default_arch>());
QMATH_TOOL_REGISTER("q4_1", qmath_tool::kernel_entry<qmath::formats::q4_1, qmath::default_arch>());
QMATH_TOOL_REGISTER("q5_0", qmath_tool::kernel_entry<qmath::formats::q5_0, qmath::default_arch>());
QMATH_TOOL_REGISTER("q5_1", qmath_tool::kernel_entry<qmath::formats::q5_1, qmath::default_arch>());
QMATH_TOOL_REGISTER("iq4_nl", qmath_tool::kernel_entry<qmath::formats::iq4_nl, qmath::default_arch>());
QMATH_TOOL_REGISTER("q8_0/scalar", qmath_tool::kernel_entry<qmath::formats::q8_0, qmath::scalar_arch>());
QMATH_TOOL_REGISTER("q4_0/scalar", qmath_tool::kernel_entry<qmath::formats::q4_0, qmath::scalar_arch>());
QMATH_TOOL_REGISTER("q4_1/scalar", qmath_tool::kernel_entry<qmath::formats::q4_1, qmath::scalar_arch>());
QMATH_TOOL_REGISTER("q5_0/scalar", qmath_tool::kernel_entry<qmath::formats::q5_0, qmath::scalar_arch>());
QMATH_TOOL_REGISTER("q5_1/scalar", qmath_tool::kernel_entry<qmath::formats::q5_1, qmath::scalar_arch>());
QMATH_TOOL_REGISTER("iq4_nl/scalar", qmath_tool::kernel_entry<qmath::formats::iq4_nl, qmath::scalar_arch>());
