// expect: QMATH_REQUIRE.*device has no memory
// A device record without memory is rejected.
#include "qmath/memory.hpp"
#include "qmath/models.hpp"

constexpr qmath::device nothing{.id = "nothing", .name = "no memory", .vendor = qmath::device_vendor::nvidia,
                                .kind = qmath::device_kind::gpu, .memory_bytes = 0, .usable_bytes = 0,
                                .source = "test"};
constexpr qmath::plan p{.model = qmath::models::llama_3_8b};
static_assert(qmath::fits(p, nothing));
