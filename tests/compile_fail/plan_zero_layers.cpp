// expect: QMATH_REQUIRE.*layers must be positive
// An architecture without layers is rejected when a plan uses it.
#include "qmath/devices.hpp"
#include "qmath/memory.hpp"

constexpr qmath::models::architecture hollow{.name = "hollow", .source = "test", .layers = 0, .hidden = 4096,
                                             .heads = 32, .intermediate = 11008, .vocab = 32000};
constexpr qmath::plan p{.model = hollow};
static_assert(qmath::fits(p, qmath::devices::rtx_4090));
