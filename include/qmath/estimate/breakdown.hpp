#pragma once
// The result type of every memory estimate: bytes per component and their
// total. Inference fills weights, kv_cache, activations and overhead; training
// adds gradients, optimizer state, master weights and adapters. Components
// are plain integers so that a breakdown is a constant expression and sums
// exactly. This header does not include xsimd.

#include <cstdint>

#include "qmath/detail/checked.hpp"

namespace qmath {

inline constexpr std::uint64_t kib = 1024;
inline constexpr std::uint64_t mib = 1024 * kib;
inline constexpr std::uint64_t gib = 1024 * mib;

struct memory_breakdown {
  std::uint64_t weights = 0;         // model weights as stored (quantized or not)
  std::uint64_t kv_cache = 0;        // attention key/value cache
  std::uint64_t activations = 0;     // peak activations / compute buffers
  std::uint64_t gradients = 0;       // gradients of trainable parameters
  std::uint64_t optimizer = 0;       // optimizer state (Adam moments, ...)
  std::uint64_t master_weights = 0;  // fp32 copy kept by mixed-precision training
  std::uint64_t adapters = 0;        // LoRA / adapter weights
  std::uint64_t overhead = 0;        // runtime context, allocator slack, fixed buffers

  constexpr std::uint64_t total() const {
    return detail::checked_sum("qmath::memory_breakdown", "total bytes", weights, kv_cache, activations, gradients,
                               optimizer, master_weights, adapters, overhead);
  }

  constexpr memory_breakdown& operator+=(const memory_breakdown& o) {
    constexpr const char* api = "qmath::memory_breakdown";
    weights = detail::checked_add(weights, o.weights, api, "weight bytes");
    kv_cache = detail::checked_add(kv_cache, o.kv_cache, api, "KV cache bytes");
    activations = detail::checked_add(activations, o.activations, api, "activation bytes");
    gradients = detail::checked_add(gradients, o.gradients, api, "gradient bytes");
    optimizer = detail::checked_add(optimizer, o.optimizer, api, "optimizer bytes");
    master_weights = detail::checked_add(master_weights, o.master_weights, api, "master weight bytes");
    adapters = detail::checked_add(adapters, o.adapters, api, "adapter bytes");
    overhead = detail::checked_add(overhead, o.overhead, api, "overhead bytes");
    return *this;
  }
  friend constexpr memory_breakdown operator+(memory_breakdown a, const memory_breakdown& b) {
    return a += b;
  }
  friend constexpr bool operator==(const memory_breakdown&, const memory_breakdown&) = default;
};

// Display helpers (exact integers stay in the breakdown).
constexpr double to_gib(std::uint64_t bytes) noexcept { return static_cast<double>(bytes) / static_cast<double>(gib); }
constexpr double to_mib(std::uint64_t bytes) noexcept { return static_cast<double>(bytes) / static_cast<double>(mib); }
constexpr double to_gb(std::uint64_t bytes) noexcept { return static_cast<double>(bytes) / 1e9; }

}  // namespace qmath
