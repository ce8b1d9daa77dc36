// expect: QMATH_REQUIRE.*context must be positive
// A plan with a context of 0 tokens is rejected at compile time.
#include "qmath/devices.hpp"
#include "qmath/memory.hpp"
#include "qmath/models.hpp"

constexpr qmath::plan no_context{.model = qmath::models::llama_3_8b, .context = 0};
constexpr auto bytes = qmath::required_bytes(no_context, qmath::devices::rtx_4090);
