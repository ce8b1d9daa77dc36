#pragma once
// LoRA adapters: which linear layers get one, how many parameters that adds
// and what share of the model it is.
//
// PEFT's LoRA layer (peft/tuners/lora/layer.py, Linear.update_layer) adds
// lora_A = Linear(in_features, r) and lora_B = Linear(r, out_features), both
// without bias, to every targeted nn.Linear: r * (in + out) parameters per
// module. lora_alpha only scales the update and costs nothing.
// This header does not include xsimd.

#include <cstdint>

#include "qmath/error.hpp"
#include "qmath/formats/table.hpp"
#include "qmath/models/architecture.hpp"

namespace qmath {

// The module names PEFT users pass as target_modules, as bits.
enum class lora_target : std::uint16_t {
  q = 1u << 0,     // q_proj / query
  k = 1u << 1,     // k_proj / key
  v = 1u << 2,     // v_proj / value
  o = 1u << 3,     // o_proj / dense (attention output)
  gate = 1u << 4,  // gate_proj
  up = 1u << 5,    // up_proj / dense_h_to_4h
  down = 1u << 6,  // down_proj / dense_4h_to_h
  // PEFT's "all-linear": every nn.Linear of the blocks except the LM head
  // (peft/tuners/tuners_utils.py _maybe_include_all_linear_layers), which
  // includes MoE experts and routers and MLA's low-rank projections.
  all_linear = 1u << 7,
};

struct lora_targets {
  std::uint16_t bits = 0;

  constexpr lora_targets() = default;
  constexpr lora_targets(lora_target t) noexcept : bits(static_cast<std::uint16_t>(t)) {}  // NOLINT: a set of one
  constexpr bool has(lora_target t) const noexcept { return (bits & static_cast<std::uint16_t>(t)) != 0; }
  constexpr bool empty() const noexcept { return bits == 0; }
  friend constexpr lora_targets operator|(lora_targets a, lora_targets b) noexcept {
    lora_targets r;
    r.bits = static_cast<std::uint16_t>(a.bits | b.bits);
    return r;
  }
  friend constexpr bool operator==(lora_targets, lora_targets) = default;
};
constexpr lora_targets operator|(lora_target a, lora_target b) noexcept { return lora_targets{a} | lora_targets{b}; }

namespace lora_presets {
// PEFT's default for Llama-style models (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING: q_proj, v_proj).
inline constexpr lora_targets qv = lora_target::q | lora_target::v;
inline constexpr lora_targets qkvo = lora_target::q | lora_target::k | lora_target::v | lora_target::o;
inline constexpr lora_targets all_linear = lora_target::all_linear;
}  // namespace lora_presets

struct lora_config {
  std::uint32_t rank = 8;
  lora_targets targets = lora_presets::qv;
  // PEFT keeps adapters in float32 even on a 16-bit or 4-bit base: they are
  // created as float32 nn.Linear, and get_peft_model's
  // autocast_adapter_dtype=True upcasts adapters that followed a 16-bit base.
  format_id adapter_dtype = format_id::f32;
  // The checkpoint stores q, k and v as one Linear (GPT-NeoX query_key_value,
  // Qwen-1 c_attn): targeting any of q/k/v targets the fused module once,
  // r * (hidden + q_dim + k_dim + v_dim) parameters.
  bool fused_qkv = false;
};

namespace detail {
constexpr bool is_qkv_role(models::tensor_role r) noexcept {
  return r == models::tensor_role::attn_q || r == models::tensor_role::attn_k || r == models::tensor_role::attn_v;
}

constexpr bool lora_targets_role(const lora_config& c, models::tensor_role r) noexcept {
  using models::tensor_role;
  switch (r) {
    case tensor_role::attn_q: return c.targets.has(lora_target::q);
    case tensor_role::attn_k: return c.targets.has(lora_target::k);
    case tensor_role::attn_v: return c.targets.has(lora_target::v);
    case tensor_role::attn_o: return c.targets.has(lora_target::o);
    case tensor_role::ffn_gate:
    case tensor_role::shared_gate: return c.targets.has(lora_target::gate);
    case tensor_role::ffn_up:
    case tensor_role::shared_up: return c.targets.has(lora_target::up);
    case tensor_role::ffn_down:
    case tensor_role::shared_down: return c.targets.has(lora_target::down);
    default: return false;
  }
}
}  // namespace detail

constexpr const lora_config& validate(const lora_config& c) {
  QMATH_REQUIRE(c.rank > 0, "qmath::lora_config", "LoRA rank must be positive");
  QMATH_REQUIRE(!c.targets.empty(), "qmath::lora_config", "no LoRA target modules");
  QMATH_REQUIRE(info(c.adapter_dtype).family == format_family::floating_point, "qmath::lora_config",
                "adapter dtype ", info(c.adapter_dtype).name, " is not a floating-point type");
  return c;
}

// Calls f(rows, cols, copies) for every adapter matrix (A = [r, in], B = [out, r])
// in file order. The per-matrix shapes matter to optimizers that store state per
// matrix (Adafactor's factored moments, 8-bit blockwise absmax).
template <class F>
constexpr void for_each_lora_matrix(const models::architecture& arch, const lora_config& cfg, F&& f) {
  const lora_config& c = validate(cfg);
  const std::uint64_t r = c.rank;
  const bool all = c.targets.has(lora_target::all_linear);
  // A fused q/k/v module is seen as its three tensors; emit it once, at q.
  std::uint64_t fused_out = 0;
  std::int32_t fused_layer = -2;
  const auto flush = [&] {
    if (fused_out != 0) {
      f(r, std::uint64_t{arch.hidden}, 1u);
      f(fused_out, r, 1u);
    }
    fused_out = 0;
  };
  models::for_each_tensor(arch, [&](const models::tensor& t) {
    if (!t.linear || t.layer < 0) return;
    const bool targeted = all || detail::lora_targets_role(c, t.role);
    if (c.fused_qkv && detail::is_qkv_role(t.role)) {
      // any of q/k/v targets the whole fused module
      const bool fused_targeted =
          all || c.targets.has(lora_target::q) || c.targets.has(lora_target::k) || c.targets.has(lora_target::v);
      if (!fused_targeted) return;
      if (t.layer != fused_layer) {
        flush();
        fused_layer = t.layer;
      }
      fused_out = detail::checked_add(fused_out, t.rows, "qmath::for_each_lora_matrix", "fused q/k/v rows");
      return;
    }
    flush();
    if (!targeted) return;
    f(r, t.cols, t.copies);   // lora_A: in -> r
    f(t.rows, r, t.copies);   // lora_B: r -> out
  });
  flush();
}

// Trainable LoRA parameters: sum of r * (in + out) over targeted modules.
constexpr std::uint64_t lora_parameters(const models::architecture& arch, const lora_config& cfg) {
  std::uint64_t n = 0;
  constexpr const char* api = "qmath::lora_parameters";
  for_each_lora_matrix(arch, cfg, [&](std::uint64_t rows, std::uint64_t cols, std::uint32_t copies) {
    n = detail::checked_add(n, detail::checked_product(api, "adapter parameters", rows, cols, copies), api,
                            "adapter parameters");
  });
  return n;
}

// Bytes of the adapter weights in the adapter dtype.
constexpr std::uint64_t lora_bytes(const models::architecture& arch, const lora_config& cfg) {
  return storage_bytes(info(cfg.adapter_dtype), lora_parameters(arch, cfg));
}

// The trainable share as PEFT's print_trainable_parameters reports it:
// trainable / (base parameters + adapter parameters).
constexpr double lora_trainable_share(const models::architecture& arch, const lora_config& cfg) {
  const std::uint64_t trainable = lora_parameters(arch, cfg);
  return static_cast<double>(trainable) /
         static_cast<double>(detail::checked_add(arch.parameters(), trainable, "qmath::lora_trainable_share",
                                                 "parameters with adapters"));
}

}  // namespace qmath
