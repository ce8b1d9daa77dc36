#pragma once
// Model architectures, the catalog and the memory estimators built on them:
// weights, KV cache, activations and host RAM, each a memory_breakdown.
// Constexpr throughout; does not include xsimd.

#include "qmath/estimate/activations.hpp"
#include "qmath/estimate/breakdown.hpp"
#include "qmath/estimate/host_ram.hpp"
#include "qmath/estimate/kv_cache.hpp"
#include "qmath/estimate/weights.hpp"
#include "qmath/models/architecture.hpp"
#include "qmath/models/catalog.hpp"
