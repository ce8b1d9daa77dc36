// One tier of qmath's runtime CPU dispatch (kernels/dispatch.hpp). CMake
// compiles this file once per tier, with QMATH_DISPATCH_TIER set to the
// tier's number (qmath::isa) and the tier's -march flags
// (cmake/qmathDispatch.cmake); each compilation defines that tier's table of
// kernels, and the sse2 one (the baseline) also the scalar table and the
// lookup.

#include "qmath/kernels/detail/dispatch_table.hpp"

#ifndef QMATH_DISPATCH_TIER
#error "qmath_dispatch.cpp is compiled once per tier, with QMATH_DISPATCH_TIER set"
#endif

namespace qmath::kernels::dispatch {

extern const table tier_sse2, tier_sse42, tier_avx2, tier_avx512, tier_avx512_bf16;

constexpr isa this_tier = static_cast<isa>(QMATH_DISPATCH_TIER);
static_assert(compiled_isa() == this_tier, "qmath_dispatch.cpp: the tier's -march flags do not enable its instruction sets");

#if QMATH_DISPATCH_TIER == 1
constinit const table tier_sse2 = make_table<default_arch>(isa::sse2);
constinit const table tier_scalar = make_table<scalar_arch>(isa::scalar);

const table* tier_table(isa tier) noexcept {
  switch (tier) {
    case isa::scalar: return &tier_scalar;
    case isa::sse2: return &tier_sse2;
    case isa::sse42: return &tier_sse42;
    case isa::avx2: return &tier_avx2;
    case isa::avx512: return &tier_avx512;
    case isa::avx512_bf16: return &tier_avx512_bf16;
  }
  return nullptr;
}
#elif QMATH_DISPATCH_TIER == 2
constinit const table tier_sse42 = make_table<default_arch>(isa::sse42);
#elif QMATH_DISPATCH_TIER == 3
constinit const table tier_avx2 = make_table<default_arch>(isa::avx2);
#elif QMATH_DISPATCH_TIER == 4
constinit const table tier_avx512 = make_table<default_arch>(isa::avx512);
#elif QMATH_DISPATCH_TIER == 5
constinit const table tier_avx512_bf16 = make_table<default_arch>(isa::avx512_bf16);
#else
#error "QMATH_DISPATCH_TIER: 1 (sse2) to 5 (avx512-bf16)"
#endif

}  // namespace qmath::kernels::dispatch
