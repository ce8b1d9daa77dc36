// qmath_tool formats of the 2-bit and ternary area: "tq2_0", "tq1_0", "q2_k",
// "int2_group16" / "int2_group64" / "int2_group256" run the default
// architecture's kernels, "<name>/scalar" the constexpr reference;
// "bitnet_tq2_0" / "bitnet_tq1_0" quantize a whole tensor with the BitNet
// absmean rule and pack the trits into TQ blocks.
#include <qmath/formats/ternary.hpp>
#include <qmath/kernels/group_int2.hpp>
#include <qmath/kernels/q2_k.hpp>
#include <qmath/kernels/tq1_0.hpp>
#include <qmath/kernels/tq2_0.hpp>

#include <cstdint>
#include <vector>

#include "tool.hpp"

namespace {

template <class F>
qmath_tool::entry bitnet_entry() {
  return {[](std::span<const float> in) {
            std::vector<std::int8_t> trits(in.size());
            const float scale = qmath::formats::ternary_absmean::quantize(in, trits);
            std::vector<std::byte> out(qmath::storage_bytes<F>(in.size()));
            qmath::formats::ternary_absmean::pack<F>(trits, scale, out);
            return out;
          },
          [](std::span<const std::byte> in, std::size_t n) {
            std::vector<float> out(n);
            qmath::dequantize<F>(in, out);
            return out;
          }};
}

}  // namespace

QMATH_TOOL_REGISTER("tq2_0", qmath_tool::kernel_entry<qmath::formats::tq2_0, qmath::default_arch>());
QMATH_TOOL_REGISTER("tq1_0", qmath_tool::kernel_entry<qmath::formats::tq1_0, qmath::default_arch>());
QMATH_TOOL_REGISTER("q2_k", qmath_tool::kernel_entry<qmath::formats::q2_k, qmath::default_arch>());
QMATH_TOOL_REGISTER("int2_group16", qmath_tool::kernel_entry<qmath::formats::int2_group<16>, qmath::default_arch>());
QMATH_TOOL_REGISTER("int2_group64", qmath_tool::kernel_entry<qmath::formats::int2_group<64>, qmath::default_arch>());
QMATH_TOOL_REGISTER("int2_group256", qmath_tool::kernel_entry<qmath::formats::int2_group<256>, qmath::default_arch>());
QMATH_TOOL_REGISTER("tq2_0/scalar", qmath_tool::kernel_entry<qmath::formats::tq2_0, qmath::scalar_arch>());
QMATH_TOOL_REGISTER("tq1_0/scalar", qmath_tool::kernel_entry<qmath::formats::tq1_0, qmath::scalar_arch>());
QMATH_TOOL_REGISTER("q2_k/scalar", qmath_tool::kernel_entry<qmath::formats::q2_k, qmath::scalar_arch>());
QMATH_TOOL_REGISTER("int2_group64/scalar", qmath_tool::kernel_entry<qmath::formats::int2_group<64>, qmath::scalar_arch>());
QMATH_TOOL_REGISTER("bitnet_tq2_0", bitnet_entry<qmath::formats::tq2_0>());
QMATH_TOOL_REGISTER("bitnet_tq1_0", bitnet_entry<qmath::formats::tq1_0>());
