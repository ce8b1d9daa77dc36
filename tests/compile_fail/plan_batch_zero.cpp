// expect: QMATH_REQUIRE.*batch must be positive
// A plan with batch 0 is rejected at compile time.
#include "qmath/devices.hpp"
#include "qmath/memory.hpp"
#include "qmath/models.hpp"

constexpr qmath::plan no_batch{.model = qmath::models::llama_3_8b, .batch = 0};
static_assert(qmath::fits(no_batch, qmath::devices::rtx_4090));
