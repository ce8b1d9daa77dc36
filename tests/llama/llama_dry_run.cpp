// Asks the real llama.cpp what it allocates, without allocating: the model is
// loaded with llama_model_params.no_alloc (metadata only, buffers simulated)
// and each context is created on it, so llama_get_memory_breakdown() reports
// the model, KV and compute buffer bytes of a dry run (llama-context.cpp,
// llama_context::memory_breakdown: with no_alloc the compute bytes are the
// sizes the scheduler's reserve pass asked for). Built against llama.cpp's
// own headers (include/, src/ for the staging API llama-ext.h and the KV
// cache classes) and its prebuilt libllama.so; CPU backend only.
//
//   llama_dry_run measure FILE.gguf [--extra-bufts] < settings
//     settings: one context per line,
//       n_ctx n_batch n_ubatch n_seq_max kv_unified type_k type_v flash_attn swa_full
//     (flash_attn: on|off|auto; kv_unified, swa_full: 0|1; types: f16, q8_0, ...)
//     prints per line: the settings, then
//       weights k v kv_total compute flash_attn_resolved kv_cells
//     or "refused" when llama.cpp does not create the context.
//   llama_dry_run graph FILE.gguf < one settings line
//     prints the worst-case graph llama.cpp reserves (llama_graph_reserve with
//     sched_reserve's n_tokens, n_seqs and n_outputs), one tensor per line:
//       leaf|node INDEX NAME OP TYPE NBYTES FLAGS[x: external] NE/NB VIEW_SRC SRC,...
//     (tab separated; names carry @address to tell tensors apart)
//     for studying ggml-alloc's peak (tests/llama/gallocr_peak.py).
//   llama_dry_run types FILE.gguf FTYPE
//     prints "name type" for each tensor llama-quantize would quantize, the
//     type being what llama_quant_compute_types (llama-quant.cpp) chooses for
//     FTYPE (q4_k_m, q8_0, ...) without an imatrix.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "ggml-backend.h"
#include "ggml.h"
#include "gguf.h"
#include "llama.h"
#include "llama-context.h"
#include "llama-ext.h"
#include "llama-kv-cache-iswa.h"
#include "llama-kv-cache.h"
#include "ggml-impl.h"  // struct ggml_cgraph: the graph's leafs

namespace {

void quiet_log(ggml_log_level level, const char* text, void*) {
  if (level == GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
  if (std::getenv("LLAMA_DRY_RUN_VERBOSE")) std::fputs(text, stderr);
}

ggml_type type_from_name(const std::string& name) {
  for (int t = 0; t < GGML_TYPE_COUNT; ++t) {
    const char* n = ggml_type_name(static_cast<ggml_type>(t));
    if (n != nullptr && name == n) return static_cast<ggml_type>(t);
  }
  std::fprintf(stderr, "llama_dry_run: unknown ggml type '%s'\n", name.c_str());
  std::exit(2);
}

llama_flash_attn_type fa_from_name(const std::string& name) {
  if (name == "on") return LLAMA_FLASH_ATTN_TYPE_ENABLED;
  if (name == "off") return LLAMA_FLASH_ATTN_TYPE_DISABLED;
  if (name == "auto") return LLAMA_FLASH_ATTN_TYPE_AUTO;
  std::fprintf(stderr, "llama_dry_run: flash_attn must be on, off or auto, got '%s'\n", name.c_str());
  std::exit(2);
}

// llama_kv_cache::size_k_bytes / size_v_bytes are private members (exported
// from libllama.so): an explicit instantiation may name them (C++ [temp.spec]
// access rules), which hands out their member pointers.
template <class Tag, typename Tag::type member>
struct expose {
  friend typename Tag::type get(Tag) { return member; }
};
struct k_bytes_tag {
  using type = std::size_t (llama_kv_cache::*)() const;
  friend type get(k_bytes_tag);
};
struct v_bytes_tag {
  using type = std::size_t (llama_kv_cache::*)() const;
  friend type get(v_bytes_tag);
};
template struct expose<k_bytes_tag, &llama_kv_cache::size_k_bytes>;
template struct expose<v_bytes_tag, &llama_kv_cache::size_v_bytes>;
std::uint64_t k_of(const llama_kv_cache* kv) { return (kv->*get(k_bytes_tag{}))(); }
std::uint64_t v_of(const llama_kv_cache* kv) { return (kv->*get(v_bytes_tag{}))(); }

// K and V bytes of the cache: one llama_kv_cache, or the full and sliding
// halves of llama_kv_cache_iswa (Gemma-2).
struct kv_bytes {
  std::uint64_t k = 0, v = 0, cells = 0;
};
kv_bytes kv_of(llama_context* ctx) {
  kv_bytes out;
  llama_memory_t mem = llama_get_memory(ctx);
  if (auto* kv = dynamic_cast<llama_kv_cache*>(mem)) {
    out.k = k_of(kv);
    out.v = v_of(kv);
    out.cells = kv->get_size();
  } else if (auto* iswa = dynamic_cast<llama_kv_cache_iswa*>(mem)) {
    out.k = k_of(iswa->get_base()) + k_of(iswa->get_swa());
    out.v = v_of(iswa->get_base()) + v_of(iswa->get_swa());
    out.cells = iswa->get_base()->get_size() * 1000000ull + iswa->get_swa()->get_size();
  }
  return out;
}

std::string tensor_name(const ggml_tensor* t) {
  if (t == nullptr) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "@%p", static_cast<const void*>(t));
  return std::string(t->name[0] != '\0' ? t->name : "") + buf;
}

void print_tensor(const char* kind, int i, const ggml_tensor* t) {
  std::string srcs;
  for (int j = 0; j < GGML_MAX_SRC; ++j) {
    if (t->src[j] == nullptr) continue;
    if (!srcs.empty()) srcs += ",";
    srcs += std::to_string(j) + ":" + tensor_name(t->src[j]);
  }
  const bool external = t->buffer != nullptr || t->data != nullptr;
  char layout[256];
  std::snprintf(layout, sizeof layout, "%lld,%lld,%lld,%lld/%zu,%zu,%zu,%zu", (long long)t->ne[0], (long long)t->ne[1],
                (long long)t->ne[2], (long long)t->ne[3], t->nb[0], t->nb[1], t->nb[2], t->nb[3]);
  std::printf("%s\t%d\t%s\t%s\t%s\t%zu\t%d%s\t%s\t%s\t%s\n", kind, i, tensor_name(t).c_str(), ggml_op_name(t->op),
              ggml_type_name(t->type), ggml_nbytes(t), t->flags, external ? "x" : "", layout,
              tensor_name(t->view_src).c_str(), srcs.empty() ? "-" : srcs.c_str());
}

int measure(const char* path, bool extra_bufts, bool dump_graph) {
  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = 0;
  mp.no_alloc = true;
  mp.load_mode = LLAMA_LOAD_MODE_NONE;  // the dry run maps nothing (llama-model.cpp load_tensors asserts !no_alloc for mmap)
  mp.use_extra_bufts = extra_bufts;
  llama_model* model = llama_model_load_from_file(path, mp);
  if (model == nullptr) {
    std::fprintf(stderr, "llama_dry_run: llama.cpp could not load %s\n", path);
    return 1;
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::uint32_t n_ctx, n_batch, n_ubatch, n_seq;
    int unified, swa_full;
    std::string tk, tv, fa;
    if (!(in >> n_ctx >> n_batch >> n_ubatch >> n_seq >> unified >> tk >> tv >> fa >> swa_full)) {
      std::fprintf(stderr, "llama_dry_run: bad settings line '%s'\n", line.c_str());
      return 2;
    }
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_batch;
    cp.n_ubatch = n_ubatch;
    cp.n_seq_max = n_seq;
    cp.kv_unified = unified != 0;
    cp.type_k = type_from_name(tk);
    cp.type_v = type_from_name(tv);
    cp.flash_attn_type = fa_from_name(fa);
    cp.swa_full = swa_full != 0;
    cp.n_threads = 1;
    cp.n_threads_batch = 1;
    if (!dump_graph)
      std::printf("%u %u %u %u %d %s %s %s %d ", n_ctx, n_batch, n_ubatch, n_seq, unified, tk.c_str(), tv.c_str(),
                fa.c_str(), swa_full);
    llama_context* ctx = llama_init_from_model(model, cp);
    if (ctx == nullptr) {
      std::printf("refused\n");
      std::fflush(stdout);
      continue;
    }
    std::uint64_t weights = 0, context = 0, compute = 0;
    for (const auto& [buft, mb] : llama_get_memory_breakdown(ctx)) {
      weights += mb.model;
      context += mb.context;
      compute += mb.compute;
    }
    if (dump_graph) {
      const llama_cparams& c = ctx->get_cparams();
      const std::uint32_t n_tokens = std::min(c.n_ctx, c.n_ubatch);
      ggml_cgraph* gf = llama_graph_reserve(ctx, n_tokens, c.n_seq_max, std::min(n_tokens, c.n_outputs_max));
      for (int i = 0; i < gf->n_leafs; ++i) print_tensor("leaf", i, gf->leafs[i]);
      for (int i = 0; i < ggml_graph_n_nodes(gf); ++i) print_tensor("node", i, ggml_graph_node(gf, i));
      llama_free(ctx);
      break;
    }
    const kv_bytes kv = kv_of(ctx);
    std::printf("%llu %llu %llu %llu %llu %s %llu\n", (unsigned long long)weights, (unsigned long long)kv.k,
                (unsigned long long)kv.v, (unsigned long long)context, (unsigned long long)compute,
                ctx->get_cparams().flash_attn ? "on" : "off", (unsigned long long)kv.cells);
    std::fflush(stdout);
    llama_free(ctx);
  }
  llama_model_free(model);
  return 0;
}

std::uint32_t u32_key(gguf_context* g, const std::string& key, std::uint32_t fallback = 0) {
  const int64_t id = gguf_find_key(g, key.c_str());
  return id < 0 ? fallback : gguf_get_val_u32(g, id);
}

int layer_of(const char* name) {
  int layer = -1;
  std::sscanf(name, "blk.%d.", &layer);
  return layer;
}

int types(const char* path, const std::string& ftype_name) {
  static const std::pair<const char*, llama_ftype> ftypes[] = {
      {"q4_0", LLAMA_FTYPE_MOSTLY_Q4_0},     {"q4_1", LLAMA_FTYPE_MOSTLY_Q4_1},
      {"q5_0", LLAMA_FTYPE_MOSTLY_Q5_0},     {"q5_1", LLAMA_FTYPE_MOSTLY_Q5_1},
      {"q8_0", LLAMA_FTYPE_MOSTLY_Q8_0},     {"q2_k", LLAMA_FTYPE_MOSTLY_Q2_K},
      {"q3_k_s", LLAMA_FTYPE_MOSTLY_Q3_K_S}, {"q3_k_m", LLAMA_FTYPE_MOSTLY_Q3_K_M},
      {"q3_k_l", LLAMA_FTYPE_MOSTLY_Q3_K_L}, {"q4_k_s", LLAMA_FTYPE_MOSTLY_Q4_K_S},
      {"q4_k_m", LLAMA_FTYPE_MOSTLY_Q4_K_M}, {"q5_k_s", LLAMA_FTYPE_MOSTLY_Q5_K_S},
      {"q5_k_m", LLAMA_FTYPE_MOSTLY_Q5_K_M}, {"q6_k", LLAMA_FTYPE_MOSTLY_Q6_K},
  };
  llama_ftype ftype{};
  bool found = false;
  for (const auto& [n, f] : ftypes)
    if (ftype_name == n) ftype = f, found = true;
  if (!found) {
    std::fprintf(stderr, "llama_dry_run: unknown ftype '%s'\n", ftype_name.c_str());
    return 2;
  }
  ggml_context* meta = nullptr;
  gguf_init_params gp{true, &meta};
  gguf_context* g = gguf_init_from_file(path, gp);
  if (g == nullptr) {
    std::fprintf(stderr, "llama_dry_run: cannot read %s\n", path);
    return 1;
  }
  const std::string arch = gguf_get_val_str(g, gguf_find_key(g, "general.architecture"));
  llama_quant_model_desc desc{};
  desc.architecture = arch.c_str();
  desc.n_embd = u32_key(g, arch + ".embedding_length");
  desc.n_ff = u32_key(g, arch + ".feed_forward_length");
  desc.n_layer = u32_key(g, arch + ".block_count");
  desc.n_head = u32_key(g, arch + ".attention.head_count");
  desc.n_head_kv = u32_key(g, arch + ".attention.head_count_kv", desc.n_head);
  desc.n_expert = u32_key(g, arch + ".expert_count");
  desc.n_embd_head_k = u32_key(g, arch + ".attention.key_length", desc.n_embd / desc.n_head);
  desc.n_embd_head_v = u32_key(g, arch + ".attention.value_length", desc.n_embd / desc.n_head);
  llama_model* model = llama_quant_model_from_metadata(&desc);
  llama_model_quantize_params qp = llama_model_quantize_default_params();
  quantize_state_impl* qs = llama_quant_init(model, &qp);

  std::vector<ggml_tensor*> quantizable;
  for (int64_t i = 0; i < gguf_get_n_tensors(g); ++i) {
    ggml_tensor* t = ggml_get_tensor(meta, gguf_get_tensor_name(g, i));
    if (llama_quant_tensor_allows_quantization(qs, t)) quantizable.push_back(t);
  }
  // llama_model_loader's weight_name_comparer order: by layer, then by name
  std::sort(quantizable.begin(), quantizable.end(), [](const ggml_tensor* a, const ggml_tensor* b) {
    const int la = layer_of(a->name), lb = layer_of(b->name);
    if (la != lb) return la < lb;
    return std::strcmp(a->name, b->name) < 0;
  });
  std::vector<ggml_type> result(quantizable.size());
  llama_quant_compute_types(qs, ftype, quantizable.data(), result.data(), quantizable.size());
  for (std::size_t i = 0; i < quantizable.size(); ++i)
    std::printf("%s %s\n", quantizable[i]->name, ggml_type_name(result[i]));
  llama_quant_free(qs);
  llama_model_free(model);
  gguf_free(g);
  ggml_free(meta);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: llama_dry_run measure FILE.gguf [--extra-bufts] < settings\n"
                 "       llama_dry_run types FILE.gguf FTYPE\n");
    return 2;
  }
  llama_log_set(quiet_log, nullptr);
  const std::string mode = argv[1];
  if (mode == "types") {
    if (argc != 4) return 2;
    return types(argv[2], argv[3]);
  }
  // the CPU backend is a loadable module next to libllama.so (GGML_BACKEND_DL)
  const char* lib_dir = std::getenv("LLAMA_DRY_RUN_LIB_DIR");
  if (lib_dir != nullptr) ggml_backend_load_all_from_path(lib_dir);
  else ggml_backend_load_all();
  llama_backend_init();
  if (mode == "measure") return measure(argv[2], argc > 3 && std::string(argv[3]) == "--extra-bufts", false);
  if (mode == "graph") return measure(argv[2], false, true);
  std::fprintf(stderr, "llama_dry_run: unknown mode '%s'\n", mode.c_str());
  return 2;
}
