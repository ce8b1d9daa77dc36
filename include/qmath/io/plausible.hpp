#pragma once
// Bounds of what any published model has, with a wide margin, applied by the
// readers to the architecture a file describes: a file beyond them is corrupt
// or hostile, and estimators that walk the layers must not be asked to walk
// four billion of them. This header does not include xsimd.

#include <cstdint>

#include "qmath/error.hpp"
#include "qmath/models/architecture.hpp"

namespace qmath::io {

inline void check_plausible(const models::architecture& a, const char* api) {
  const auto bound = [api](std::uint64_t v, std::uint64_t max, const char* what) {
    QMATH_REQUIRE(v <= max, api, what, " = ", v, " is beyond any real model (at most ", max, ")");
  };
  bound(a.layers, 4096, "the layer count");
  bound(a.encoder_layers, 4096, "the encoder layer count");
  bound(a.hidden, 1u << 20, "the hidden size");
  bound(a.heads, 1u << 16, "the attention head count");
  bound(a.head_dim, 1u << 16, "the head size");
  bound(a.intermediate, 1u << 24, "the FFN size");
  bound(a.expert_intermediate, 1u << 24, "the expert FFN size");
  bound(a.shared_expert_intermediate, 1u << 24, "the shared expert FFN size");
  bound(a.vocab, 1u << 26, "the vocabulary");
  bound(a.experts, 1u << 16, "the expert count");
  bound(a.kv_lora_rank, 1u << 16, "kv_lora_rank");
  bound(a.q_lora_rank, 1u << 16, "q_lora_rank");
  bound(a.learned_positions, 1u << 24, "the position table");
  bound(a.token_types, 1u << 16, "the token-type table");
  bound(a.relative_attention_buckets, 1u << 16, "the relative attention buckets");
}

}  // namespace qmath::io
