// expect: QMATH_REQUIRE.*hidden % a.heads == 0
// 4096 is not a multiple of 30 heads and no head_dim is given.
#include "qmath/devices.hpp"
#include "qmath/memory.hpp"

constexpr qmath::models::architecture odd{.name = "odd", .source = "test", .layers = 32, .hidden = 4096,
                                          .heads = 30, .intermediate = 11008, .vocab = 32000};
constexpr qmath::plan p{.model = odd};
static_assert(qmath::fits(p, qmath::devices::rtx_4090));
