// expect: (comparison reduces to|expression evaluates to) .*[0-9]+ <= [0-9]+
// Llama-3-8B in FP16 on a 12 GB card: the budget check fails and g++ prints
// the required and the available bytes (clang: "expression evaluates to").
#include "qmath/devices.hpp"
#include "qmath/memory.hpp"
#include "qmath/models.hpp"

constexpr qmath::plan fp16_llama{.model = qmath::models::llama_3_8b,
                                 .weights = qmath::weight_recipe::uniform(qmath::info(qmath::format_id::f16)),
                                 .context = 2048};
QMATH_STATIC_ASSERT_FITS(fp16_llama, qmath::devices::rtx_3060_12gb);
