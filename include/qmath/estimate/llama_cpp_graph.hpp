#pragma once
// The worst-case graph llama.cpp reserves its compute buffer for, as a list
// of tensor sizes in ggml's order, for ggml_alloc::reserve_bytes to replay.
//
// llama_context::sched_reserve (src/llama-context.cpp) reserves the prompt
// graph of n_tokens = min(n_ctx, n_ubatch) tokens, n_seq_max sequences and
// n_outputs = min(n_tokens, n_batch) output rows over the whole KV cache
// (memory->init_full: n_kv = the cells of one stream). The graph is what the
// architecture's builder (src/models/<arch>.cpp) and llm_graph_context
// (src/llama-graph.cpp: build_inp_embd, build_norm, build_attn,
// build_attn_mha, build_ffn, build_moe_ffn) create, in the order
// ggml_build_forward_expand visits it; only the tensors the allocator sees
// matter here, with their sizes, views and sources.
// This header does not include xsimd.

#include <cstdint>

#include "qmath/detail/checked.hpp"
#include "qmath/error.hpp"
#include "qmath/estimate/ggml_alloc.hpp"

namespace qmath::llama_cpp::graph_detail {

using ggml_alloc::layout;

// ggml type ids used for layouts (only equality matters)
enum : std::uint32_t { t_f32 = 0, t_f16 = 1, t_i32 = 26, t_i64 = 27, t_cache = 100 };

constexpr std::uint64_t type_size(std::uint32_t t) { return t == t_f16 ? 2 : t == t_i64 ? 8 : 4; }

class builder {
 public:
  ggml_alloc::graph g;

  // a contiguous tensor of ne[0] x ne[1] x ne[2] x ne[3] values
  static constexpr layout shape(std::uint32_t type, std::int64_t n0, std::int64_t n1 = 1, std::int64_t n2 = 1,
                                std::int64_t n3 = 1) {
    layout l;
    l.type = type;
    l.ne = {n0, n1, n2, n3};
    return l;
  }
  // ggml_nbytes of a contiguous tensor, or a qmath::error when it overflows 64 bits
  static constexpr std::uint64_t bytes(const layout& l) {
    return qmath::detail::checked_product("qmath::llama_cpp", "compute tensor bytes",
                                          static_cast<std::uint64_t>(l.ne[0]), static_cast<std::uint64_t>(l.ne[1]),
                                          static_cast<std::uint64_t>(l.ne[2]), static_cast<std::uint64_t>(l.ne[3]),
                                          type_size(l.type));
  }

  // weights and KV cache tensors: outside the compute buffer
  constexpr std::int32_t external() {
    ggml_alloc::tensor t;
    t.leaf = true;
    t.external = true;
    return push(t, false);
  }
  // an input (ggml_set_input) leaf
  constexpr std::int32_t input(const layout& l) {
    ggml_alloc::tensor t;
    t.bytes = bytes(l);
    t.shape = l;
    t.leaf = true;
    t.input = true;
    return push(t, true);
  }
  // a node computing a new tensor
  constexpr std::int32_t op(const layout& l, bool inplace, std::int32_t s0, std::int32_t s1 = -1,
                            std::int32_t s2 = -1, std::int32_t s3 = -1) {
    ggml_alloc::tensor t;
    t.bytes = bytes(l);
    t.shape = l;
    t.inplace = inplace;
    t.src = {s0, s1, s2, s3};
    return push_node(t);
  }
  // a node viewing (reshape, view, permute, transpose, set_rows into) another tensor's data
  constexpr std::int32_t view(std::int32_t of, std::int32_t s0, std::int32_t s1 = -1, std::int32_t s2 = -1) {
    ggml_alloc::tensor t;
    const ggml_alloc::tensor& base = g.tensors[static_cast<std::size_t>(of)];
    t.view_src = base.view_src >= 0 ? base.view_src : of;
    t.bytes = base.bytes;
    t.shape = base.shape;
    t.shape.type = t_cache;  // a view's own layout differs from contiguous results
    t.src = {s0, s1, s2, -1};
    t.external = base.external;
    return push_node(t);
  }
  constexpr void mark_output(std::int32_t t) { g.tensors[static_cast<std::size_t>(t)].output = true; }
  constexpr const layout& shape_of(std::int32_t t) const { return g.tensors[static_cast<std::size_t>(t)].shape; }

 private:
  constexpr std::int32_t push(const ggml_alloc::tensor& t, bool as_leaf) {
    g.tensors.push_back(t);
    const auto id = static_cast<std::int32_t>(g.tensors.size() - 1);
    if (as_leaf) g.leafs.push_back(id);
    return id;
  }
  constexpr std::int32_t push_node(const ggml_alloc::tensor& t) {
    g.tensors.push_back(t);
    const auto id = static_cast<std::int32_t>(g.tensors.size() - 1);
    g.nodes.push_back(id);
    return id;
  }
};

// What the graph builders need of a model and a context.
struct graph_params {
  std::int64_t n_embd = 0, n_head = 0, n_head_kv = 0, head_dim_k = 0, head_dim_v = 0;
  std::int64_t n_ff = 0, n_vocab = 0, n_layer = 0;
  std::int64_t n_tokens = 0, n_outputs = 0, n_kv = 0, n_stream = 1;
  bool flash_attn = true;
  std::int64_t k_rot = 0;  // Hadamard size for a quantized K cache (0: none)
  std::int64_t v_rot = 0;  // for a quantized V cache
  bool qkv_bias = false;
  bool qk_norm = false;           // per-head q/k RMSNorm (Qwen3)
  bool gemma2 = false;            // scaled embeddings, Q scaled after RoPE, Q/K/V expanded in that order,
                                  // soft-capped scores and logits, post-attention and post-FFN norms
  std::int64_t n_kv_swa = 0;      // cells of a sliding-window layer (iSWA cache; 0: none)
  // MLA (src/models/deepseek2.cpp, absorbed: the cache holds the latent and the rope key)
  std::int64_t kv_lora = 0, rope_dim = 0, nope_dim = 0, v_mla_dim = 0;
  std::int64_t n_dense_lead = 0;  // leading dense layers of a MoE
  std::int64_t n_ff_shexp = 0;    // shared experts' FFN width (0: none)
  bool moe_norm_w = true;         // normalize the top-k weights (Mixtral, Qwen3-MoE; not DeepSeek-V2)
  bool full_depth = false;        // replay every layer (default: enough layers for the steady state, below)
  bool phi3 = false;              // fused attn_qkv (views of one product, Q scaled before attention),
                                  // fused gate_up with a one-source SwiGLU, residual added as ADD(ffn_inp, ffn_out)
  std::int64_t n_expert = 0;      // routed experts (0: dense FFN)
  std::int64_t n_expert_used = 0;
  std::int64_t n_ff_exp = 0;
};

// llm_graph_context::build_attn with a llama_kv_cache (src/llama-graph.cpp):
// q, v, k expanded in that order, the rotations of a quantized cache
// (llama_mul_mat_hadamard), the stores into the cache (cpy_k, cpy_v), then
// build_attn_mha: FLASH_ATTN_EXT, or KQ = K*Q, softmax in place and KQV.
struct attn_inputs {
  std::int32_t pos, k_idxs, v_idxs, mask, k_rot, v_rot;
  std::int64_t n_kv;
};

constexpr std::int32_t hadamard(builder& b, std::int32_t x, std::int32_t rot, std::int64_t n) {
  // reshape to rows of n, multiply by the n x n rotation, reshape back
  const layout& l = b.shape_of(x);
  const std::int64_t values = l.ne[0] * l.ne[1] * l.ne[2] * l.ne[3];
  const std::int32_t r = b.view(x, x);
  const std::int32_t m = b.op(builder::shape(t_f32, n, values / n), false, rot, r);
  return b.view(m, m);
}

// The stores into the cache (cpy_k, cpy_v: SET_ROWS; V transposed without
// flash attention, through a CONT when V is a strided view of a fused
// projection), build_attn_mha and the output projection.
constexpr std::int32_t store_and_attend(builder& b, const graph_params& p, const attn_inputs& in, std::int32_t q,
                                        std::int32_t k, std::int32_t vr, bool v_strided) {
  const std::int64_t t = p.n_tokens, hv = p.head_dim_v;
  // store K
  const std::int32_t cache_k = b.external(), cache_v = b.external();
  b.view(cache_k, b.view(k, k), in.k_idxs, cache_k);  // SET_ROWS into the cache
  // store V: transposed (one value per row) without flash attention
  if (p.flash_attn) {
    b.view(cache_v, b.view(vr, vr), in.v_idxs, cache_v);
  } else {
    std::int32_t flat = -1;
    if (v_strided) {
      const std::int32_t contiguous = b.op(builder::shape(t_f32, p.n_head_kv * hv, t), false, vr);  // CONT
      flat = b.view(contiguous, contiguous);
    } else {
      flat = b.view(vr, b.view(vr, vr));
    }
    const std::int32_t cache_flat = b.view(cache_v, cache_v);
    b.view(cache_v, flat, in.v_idxs, cache_flat);
  }
  std::int32_t out = -1;
  if (p.flash_attn) {
    const std::int32_t qp = b.view(q, b.view(q, q));
    const std::int32_t kp = b.view(cache_k, b.view(cache_k, cache_k));
    const std::int32_t vp = b.view(cache_v, b.view(cache_v, cache_v));
    const std::int32_t fa = b.op(builder::shape(t_f32, hv, p.n_head, t), false, qp, kp, vp, in.mask);
    out = b.view(fa, fa);
    if (p.v_rot != 0) out = hadamard(b, out, in.v_rot, p.v_rot);
  } else {
    const std::int32_t vp = b.view(cache_v, b.view(cache_v, cache_v));
    const std::int32_t kp = b.view(cache_k, b.view(cache_k, cache_k));
    const std::int32_t qp = b.view(q, b.view(q, q));
    const std::int32_t kq =
        b.op(builder::shape(t_f32, in.n_kv, t / p.n_stream, p.n_head, p.n_stream), false, kp, qp);
    std::int32_t capped = kq;
    if (p.gemma2)  // attn_soft_cap: SCALE, tanh (UNARY), SCALE, each in place
      for (int i = 0; i < 3; ++i)
        capped = b.op(builder::shape(t_f32, in.n_kv, t / p.n_stream, p.n_head, p.n_stream), true, capped);
    const std::int32_t sm = b.op(builder::shape(t_f32, in.n_kv, t / p.n_stream, p.n_head, p.n_stream), true,
                                 capped, in.mask);
    const std::int32_t kqv = b.op(builder::shape(t_f32, hv, t / p.n_stream, p.n_head, p.n_stream), false, vp, sm);
    out = b.op(builder::shape(t_f32, hv * p.n_head, t), false, b.view(kqv, kqv));  // CONT
  }
  return b.op(builder::shape(t_f32, p.n_embd, t), false, b.external(), out);  // wo
}

constexpr std::int32_t build_attention_fused(builder& b, const graph_params& p, const attn_inputs& in,
                                             std::int32_t cur);

constexpr std::int32_t build_attention_mla(builder& b, const graph_params& p, const attn_inputs& in,
                                           std::int32_t cur);

constexpr std::int32_t build_attention(builder& b, const graph_params& p, const attn_inputs& in, std::int32_t cur,
                                       bool qk_norm = false) {
  const std::int64_t t = p.n_tokens, hk = p.head_dim_k, hv = p.head_dim_v;
  const std::int64_t q_dim = p.n_head * hk, k_dim = p.n_head_kv * hk, v_dim = p.n_head_kv * hv;
  const auto proj = [&](std::int64_t rows) {
    std::int32_t x = b.op(builder::shape(t_f32, rows, t), false, b.external(), cur);
    if (p.qkv_bias) x = b.op(builder::shape(t_f32, rows, t), true, x, b.external());
    return x;
  };
  const auto head_norm = [&](std::int32_t x, std::int64_t heads) {
    if (!qk_norm) return x;
    // build_norm on the [head_dim, heads, t] view: RMS_NORM (new: its parent is a view), MUL in place
    const std::int32_t n = b.op(builder::shape(t_f32, hk, heads, t), true, x);
    return b.op(builder::shape(t_f32, hk, heads, t), true, n, b.external());
  };
  if (p.phi3) return build_attention_fused(b, p, in, cur);
  if (p.kv_lora != 0) return build_attention_mla(b, p, in, cur);
  if (p.gemma2) {
    // src/models/gemma2.cpp with build_attn for llama_kv_cache_iswa: q, k, v expanded in that order
    std::int32_t q = proj(q_dim);
    q = b.op(builder::shape(t_f32, hk, p.n_head, t), true, b.view(q, q), in.pos);  // ROPE
    q = b.op(builder::shape(t_f32, hk, p.n_head, t), true, q);                     // SCALE
    if (p.k_rot != 0) q = hadamard(b, q, in.k_rot, p.k_rot);
    std::int32_t k = proj(k_dim);
    k = b.op(builder::shape(t_f32, hk, p.n_head_kv, t), true, b.view(k, k), in.pos);  // ROPE
    if (p.k_rot != 0) k = hadamard(b, k, in.k_rot, p.k_rot);
    std::int32_t v = proj(v_dim);
    std::int32_t vr = b.view(v, v);
    if (p.v_rot != 0) vr = hadamard(b, vr, in.v_rot, p.v_rot);
    return store_and_attend(b, p, in, q, k, vr, false);
  }
  // Q, V, K in the order build_attn expands them, each with its rotation
  std::int32_t q = proj(q_dim);
  std::int32_t qv = head_norm(b.view(q, q), p.n_head);
  q = b.op(builder::shape(t_f32, hk, p.n_head, t), true, qv, in.pos);  // ROPE
  if (p.k_rot != 0) q = hadamard(b, q, in.k_rot, p.k_rot);
  std::int32_t v = proj(v_dim);
  std::int32_t vr = b.view(v, v);
  if (p.v_rot != 0) vr = hadamard(b, vr, in.v_rot, p.v_rot);
  std::int32_t k = proj(k_dim);
  std::int32_t kv = head_norm(b.view(k, k), p.n_head_kv);
  k = b.op(builder::shape(t_f32, hk, p.n_head_kv, t), true, kv, in.pos);  // ROPE
  if (p.k_rot != 0) k = hadamard(b, k, in.k_rot, p.k_rot);
  return store_and_attend(b, p, in, q, k, vr, false);
}

// build_ffn with LLM_FFN_SILU, LLM_FFN_PAR: gate and up projections, SwiGLU
// (GGML_OP_GLU, not in place), down projection.
constexpr std::int32_t build_ffn(builder& b, const graph_params& p, std::int32_t cur, std::int64_t rows) {
  const std::int32_t gate = b.op(builder::shape(t_f32, p.n_ff, rows), false, b.external(), cur);
  const std::int32_t up = b.op(builder::shape(t_f32, p.n_ff, rows), false, b.external(), cur);
  const std::int32_t glu = b.op(builder::shape(t_f32, p.n_ff, rows), false, gate, up);
  return b.op(builder::shape(t_f32, p.n_embd, rows), false, b.external(), glu);
}

// build_moe_ffn with softmax gating and normalized top-k weights (Mixtral,
// Qwen3-MoE): router logits, softmax in place, argsort, the top-k view,
// their weights (get_rows), sum, clamp and divide; the selected experts'
// gate, up (MUL_MAT_ID), SwiGLU and down, weighted in place; the k expert
// slices (views) summed, the first ADD new and the rest in place.
constexpr std::int32_t build_moe_ffn(builder& b, const graph_params& p, std::int32_t cur, std::int64_t rows) {
  const std::int64_t e = p.n_expert, k = p.n_expert_used, h = p.n_embd;
  const std::int32_t logits = b.op(builder::shape(t_f32, e, rows), false, b.external(), cur);
  const std::int32_t probs = b.op(builder::shape(t_f32, e, rows), true, logits);
  const std::int32_t probs_3d = b.view(probs, probs);
  const std::int32_t order = b.op(builder::shape(t_i32, e, rows), false, probs);  // ARGSORT
  const std::int32_t selected = b.view(order, order);
  const std::int32_t weights = b.op(builder::shape(t_f32, 1, k, rows), false, probs_3d, selected);  // GET_ROWS
  std::int32_t normed_3d = weights;
  if (p.moe_norm_w) {
    const std::int32_t weights_2d = b.view(weights, weights);
    const std::int32_t sum = b.op(builder::shape(t_f32, 1, rows), false, weights_2d);  // SUM_ROWS
    const std::int32_t clamped = b.op(builder::shape(t_f32, 1, rows), true, sum);     // CLAMP
    const std::int32_t normed = b.op(builder::shape(t_f32, k, rows), true, weights_2d, clamped);  // DIV
    normed_3d = b.view(normed, normed);
  }
  const std::int32_t cur_3d = b.view(cur, cur);
  const std::int32_t up = b.op(builder::shape(t_f32, p.n_ff_exp, k, rows), false, b.external(), cur_3d, selected);
  const std::int32_t gate = b.op(builder::shape(t_f32, p.n_ff_exp, k, rows), false, b.external(), cur_3d, selected);
  const std::int32_t glu = b.op(builder::shape(t_f32, p.n_ff_exp, k, rows), false, up, gate);
  const std::int32_t experts = b.op(builder::shape(t_f32, h, k, rows), false, b.external(), glu, selected);
  const std::int32_t weighted = b.op(builder::shape(t_f32, h, k, rows), true, experts, normed_3d);  // MUL
  QMATH_REQUIRE(k >= 1 && k <= 64, "qmath::llama_cpp", ": ", k, " experts per token is outside 1..64");
  std::int32_t slices[64]{};
  for (std::int64_t i = 0; i < k; ++i) slices[i] = b.view(weighted, weighted);
  std::int32_t sum_out = slices[0];  // one expert: its slice is the output
  if (k > 1) sum_out = b.op(builder::shape(t_f32, h, rows), true, slices[0], slices[1]);
  for (std::int64_t i = 2; i < k; ++i) sum_out = b.op(builder::shape(t_f32, h, rows), true, sum_out, slices[i]);
  if (p.n_ff_shexp != 0) {  // shared experts: a dense SwiGLU FFN added to the routed sum
    const std::int32_t gate_s = b.op(builder::shape(t_f32, p.n_ff_shexp, rows), false, b.external(), cur);
    const std::int32_t up_s = b.op(builder::shape(t_f32, p.n_ff_shexp, rows), false, b.external(), cur);
    const std::int32_t glu_s = b.op(builder::shape(t_f32, p.n_ff_shexp, rows), false, gate_s, up_s);
    const std::int32_t down = b.op(builder::shape(t_f32, h, rows), false, b.external(), glu_s);
    sum_out = b.op(builder::shape(t_f32, h, rows), true, sum_out, down);
  }
  return sum_out;
}

// src/models/phi3.cpp: one attn_qkv product; Q, V and K are views of it;
// Q is roped (a new tensor: its parent is a view) and scaled in place.
constexpr std::int32_t build_attention_fused(builder& b, const graph_params& p, const attn_inputs& in,
                                             std::int32_t cur) {
  const std::int64_t t = p.n_tokens, hk = p.head_dim_k;
  const std::int64_t rows = (p.n_head + 2 * p.n_head_kv) * hk;
  const std::int32_t qkv = b.op(builder::shape(t_f32, rows, t), false, b.external(), cur);
  std::int32_t q = b.op(builder::shape(t_f32, hk, p.n_head, t), true, b.view(qkv, qkv), in.pos);  // ROPE
  q = b.op(builder::shape(t_f32, hk, p.n_head, t), true, q);                                      // SCALE
  const std::int32_t v = b.view(qkv, qkv);
  const std::int32_t k_view = b.view(qkv, qkv);
  const std::int32_t k = b.op(builder::shape(t_f32, hk, p.n_head_kv, t), true, k_view, in.pos);  // ROPE
  return store_and_attend(b, p, in, q, k, v, true);
}

// src/models/deepseek2.cpp, MLA with the absorption optimization: q_nope
// through attn_k_b into the latent space and concatenated with the roped
// q_pe; the compressed kv normed and concatenated with the roped k_pe is the
// cached K (576 values); V is a view of K's first kv_lora_rank values (made
// contiguous without flash attention); the result goes through attn_v_b.
constexpr std::int32_t build_attention_mla(builder& b, const graph_params& p, const attn_inputs& in,
                                           std::int32_t cur) {
  const std::int64_t t = p.n_tokens, n = p.n_head, r = p.kv_lora, rope = p.rope_dim;
  const std::int64_t k_len = r + rope;
  const std::int32_t q = b.op(builder::shape(t_f32, n * (p.nope_dim + rope), t), false, b.external(), cur);
  const std::int32_t q3 = b.view(q, q);
  const std::int32_t q_nope = b.view(q, b.view(q, q3));
  const std::int32_t q_abs = b.op(builder::shape(t_f32, r, t, n), false, b.external(), q_nope);
  const std::int32_t q_abs_p = b.view(q_abs, q_abs);
  const std::int32_t q_pe = b.op(builder::shape(t_f32, rope, n, t), true, b.view(q, q3), in.pos);  // ROPE
  const std::int32_t q_cat = b.op(builder::shape(t_f32, k_len, n, t), false, q_abs_p, q_pe);       // CONCAT
  const std::int32_t kv = b.op(builder::shape(t_f32, k_len, t), false, b.external(), cur);
  const std::int32_t kv_n = b.op(builder::shape(t_f32, r, t), true, b.view(kv, kv));  // RMS_NORM of a view: new
  const std::int32_t kv_m = b.op(builder::shape(t_f32, r, t), true, kv_n, b.external());
  const std::int32_t kv_r = b.view(kv_m, kv_m);
  const std::int32_t k_pe = b.op(builder::shape(t_f32, rope, 1, t), true, b.view(kv, kv), in.pos);  // ROPE
  const std::int32_t k_cat = b.op(builder::shape(t_f32, k_len, 1, t), false, kv_r, k_pe);           // CONCAT
  const std::int32_t cache = b.external();
  b.view(cache, b.view(k_cat, k_cat), in.k_idxs, cache);  // SET_ROWS
  std::int32_t out = -1;
  if (p.flash_attn) {
    const std::int32_t qp = b.view(q_cat, b.view(q_cat, q_cat));
    const std::int32_t kview = b.view(cache, cache);
    const std::int32_t kp = b.view(cache, kview);
    const std::int32_t vp = b.view(cache, b.view(cache, kview));
    const std::int32_t fa = b.op(builder::shape(t_f32, r, n, t), false, qp, kp, vp, in.mask);
    const std::int32_t fa_p = b.view(fa, fa);
    const std::int32_t v_up = b.op(builder::shape(t_f32, p.v_mla_dim, t, n), false, b.external(), fa_p);
    const std::int32_t cont = b.op(builder::shape(t_f32, p.v_mla_dim, n, t), false, b.view(v_up, v_up));
    out = b.view(cont, cont);
  } else {
    const std::int32_t kview = b.view(cache, cache);
    const std::int32_t vt = b.view(cache, b.view(cache, b.view(cache, kview)));  // view, permute, transpose
    const std::int32_t v_cont = b.op(builder::shape(t_f16, in.n_kv, r), false, vt);
    const std::int32_t kp = b.view(cache, kview);
    const std::int32_t qp = b.view(q_cat, b.view(q_cat, q_cat));
    const std::int32_t kq = b.op(builder::shape(t_f32, in.n_kv, t / p.n_stream, n, p.n_stream), false, kp, qp);
    const std::int32_t sm =
        b.op(builder::shape(t_f32, in.n_kv, t / p.n_stream, n, p.n_stream), true, kq, in.mask);
    const std::int32_t kqv = b.op(builder::shape(t_f32, r, t / p.n_stream, n, p.n_stream), false, v_cont, sm);
    const std::int32_t v_up = b.op(builder::shape(t_f32, p.v_mla_dim, t, n), false, b.external(), kqv);
    out = b.op(builder::shape(t_f32, p.v_mla_dim * n, t), false, b.view(v_up, v_up));  // CONT
  }
  return b.op(builder::shape(t_f32, p.n_embd, t), false, b.external(), out);  // wo
}

// The dense decoder of src/models/llama.cpp and qwen2.cpp: per layer
// attn_norm, attention, residual, ffn_norm, SwiGLU FFN, residual; the last
// layer keeps only the output rows (inp_out_ids); then the final norm and the
// logits (graph outputs).
constexpr ggml_alloc::graph build_dense(const graph_params& p) {
  builder b;
  const std::int64_t t = p.n_tokens, h = p.n_embd;
  const std::int32_t tok_embd = b.external();
  const std::int32_t tokens = b.input(builder::shape(t_i32, t));
  b.input(builder::shape(t_f32, h, t));  // inp_embd: the unused embeddings input, allocated all the same
  // the attention inputs of one KV cache, as the first layer using them visits them
  const auto cache_inputs = [&](attn_inputs& in, std::int64_t n_kv, bool with_pos) {
    in.n_kv = n_kv;
    in.k_rot = p.k_rot != 0 ? b.input(builder::shape(t_f32, p.k_rot, p.k_rot)) : -1;
    if (with_pos) in.pos = b.input(builder::shape(t_i32, t));
    in.v_rot = p.v_rot != 0 ? b.input(builder::shape(t_f32, p.v_rot, p.v_rot)) : -1;
    in.k_idxs = b.input(builder::shape(t_i64, t));
    in.v_idxs = p.kv_lora != 0 ? -1 : b.input(builder::shape(t_i64, p.flash_attn ? t : t * p.n_head_kv * p.head_dim_v));
    in.mask = b.input(builder::shape(p.flash_attn ? t_f16 : t_f32, n_kv, t / p.n_stream, 1, p.n_stream));
  };
  // iSWA (Gemma-2): layer 0 slides, so the sliding cache's inputs come first
  attn_inputs first{}, second{};
  const bool iswa = p.n_kv_swa != 0;
  cache_inputs(first, iswa ? p.n_kv_swa : p.n_kv, true);
  if (iswa) {
    second.pos = first.pos;
    cache_inputs(second, p.n_kv, false);
  }
  const std::int32_t out_ids = b.input(builder::shape(t_i32, p.n_outputs));

  std::int32_t inp = b.op(builder::shape(t_f32, h, t), false, tok_embd, tokens);  // GET_ROWS
  if (p.gemma2) inp = b.op(builder::shape(t_f32, h, t), true, inp);              // SCALE by sqrt(n_embd)
  const auto norm = [&](std::int32_t x, std::int64_t rows) {  // build_norm: RMS_NORM and MUL, in place
    const std::int32_t n = b.op(builder::shape(t_f32, h, rows), true, x);
    return b.op(builder::shape(t_f32, h, rows), true, n, b.external());
  };
  // The blocks after the first few are alike, and ggml's allocator enters
  // each of them in the same state (same free blocks, same live tensors at
  // the same offsets), so replaying the leading dense layers, two blocks
  // and the last one gives the buffer of the whole graph; an iSWA model
  // keeps the parity of its layers. The tests check this shortcut against
  // the full replay on every measured row and every catalog decoder.
  std::int64_t layers = p.n_layer;
  const std::int64_t steady = p.n_dense_lead + 2;
  if (!p.full_depth && layers > steady + 2) layers = steady + 1 + (p.n_layer - steady - 1) % 2;
  const std::int64_t skipped = p.n_layer - layers;
  for (std::int64_t replayed = 0; replayed < layers; ++replayed) {
    const std::int64_t il = replayed < layers - 1 ? replayed : replayed + skipped;  // the last one is the last layer
    const attn_inputs& in = iswa && il % 2 != 0 ? second : first;
    std::int32_t cur = build_attention(b, p, in, norm(inp, t), p.qk_norm);
    std::int32_t residual = inp;
    std::int64_t rows = t;
    const bool last = il == p.n_layer - 1;
    if (last) rows = p.n_outputs;
    if (last) cur = b.op(builder::shape(t_f32, h, rows), false, cur, out_ids);
    if (p.gemma2) cur = norm(cur, rows);  // attn_post_norm
    if (last) residual = b.op(builder::shape(t_f32, h, rows), false, residual, out_ids);
    const std::int32_t ffn_inp = b.op(builder::shape(t_f32, h, rows), true, cur, residual);
    const std::int32_t ffn_norm = norm(ffn_inp, rows);
    if (p.phi3) {
      const std::int32_t gate_up = b.op(builder::shape(t_f32, 2 * p.n_ff, rows), false, b.external(), ffn_norm);
      const std::int32_t glu = b.op(builder::shape(t_f32, p.n_ff, rows), false, gate_up);
      const std::int32_t down = b.op(builder::shape(t_f32, h, rows), false, b.external(), glu);
      inp = b.op(builder::shape(t_f32, h, rows), true, ffn_inp, down);
      continue;
    }
    const bool moe_layer = p.n_expert != 0 && il >= p.n_dense_lead;
    std::int32_t ffn_out = moe_layer ? build_moe_ffn(b, p, ffn_norm, rows) : build_ffn(b, p, ffn_norm, rows);
    if (p.gemma2) ffn_out = norm(ffn_out, rows);  // ffn_post_norm
    inp = b.op(builder::shape(t_f32, h, rows), true, ffn_out, ffn_inp);
  }
  const std::int32_t result_norm = norm(inp, p.n_outputs);
  b.mark_output(result_norm);
  std::int32_t logits = b.op(builder::shape(t_f32, p.n_vocab, p.n_outputs), false, b.external(), result_norm);
  if (p.gemma2)  // final_logit_softcapping: SCALE, tanh, SCALE in place
    for (int i = 0; i < 3; ++i) logits = b.op(builder::shape(t_f32, p.n_vocab, p.n_outputs), true, logits);
  b.mark_output(logits);
  return std::move(b.g);
}

}  // namespace qmath::llama_cpp::graph_detail
