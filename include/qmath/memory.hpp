#pragma once
// Every memory estimator: weights, KV cache, activations, training state,
// LoRA, sharding, runtime overheads, offload, plans and their solvers.
// This header does not include xsimd (a CMake check compiles it alone).

#include "qmath/estimate/activations.hpp"
#include "qmath/estimate/breakdown.hpp"
#include "qmath/estimate/host_ram.hpp"
#include "qmath/estimate/kv_cache.hpp"
#include "qmath/estimate/llama_cpp.hpp"
#include "qmath/estimate/lora.hpp"
#include "qmath/estimate/offload.hpp"
#include "qmath/estimate/plan.hpp"
#include "qmath/estimate/runtime.hpp"
#include "qmath/estimate/sharding.hpp"
#include "qmath/estimate/speed.hpp"
#include "qmath/estimate/training.hpp"
#include "qmath/estimate/weights.hpp"
