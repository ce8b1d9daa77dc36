// The activation ledger (estimate/training_activations.hpp) against the bytes
// real autograd saves: tests/data/training_activations/saved_tensors.csv,
// written by tests/torch/measure_saved_tensors.py (torch, transformers, peft,
// bitsandbytes on the CPU; the script's header line names the versions).
// Every row must be within 3%.
#include <qmath/estimate/training_activations.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"

using namespace qmath;

namespace {

using row = std::map<std::string, std::string>;

std::vector<row> read_csv(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<std::string> header;
  std::vector<row> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    if (line.back() == ',') cells.emplace_back();
    if (header.empty()) {
      header = cells;
      continue;
    }
    REQUIRE(cells.size() == header.size());
    row r;
    for (std::size_t i = 0; i < cells.size(); ++i) r[header[i]] = cells[i];
    rows.push_back(r);
  }
  return rows;
}

std::uint32_t u32(const row& r, const char* k) { return static_cast<std::uint32_t>(std::stoul(r.at(k))); }
std::uint64_t u64(const row& r, const char* k) { return std::stoull(r.at(k)); }

// The architecture the script built, from the row's shape columns.
models::architecture architecture_of(const row& r) {
  models::architecture a;
  a.name = "measured";
  const bool bert = r.at("model") == "bert";
  a.kind = bert ? models::model_kind::encoder : models::model_kind::decoder;
  a.layers = u32(r, "layers");
  a.hidden = u32(r, "hidden");
  a.heads = u32(r, "heads");
  a.kv_heads = u32(r, "kv_heads");
  a.head_dim = u32(r, "head_dim");
  a.intermediate = u32(r, "intermediate");
  a.vocab = u32(r, "vocab");
  a.norm = r.at("norm") == "layer" ? models::norm_kind::layer : models::norm_kind::rms;
  a.ffn = r.at("ffn") == "gated" ? models::ffn_kind::gated : models::ffn_kind::ungated;
  a.tied_embeddings = r.at("tied") == "1";
  a.qkv_bias = r.at("qkv_bias") == "1";
  if (bert) {
    a.o_bias = a.mlp_bias = true;
    a.learned_positions = 512;
    a.token_types = 2;
    a.embedding_norm = true;
    a.pooler = true;
    a.final_norm = false;
  }
  return a;
}

activation_ledger_config config_of(const row& r) {
  activation_ledger_config c;
  c.sequence = u64(r, "seq");
  c.micro_batch = u64(r, "batch");
  c.attention = r.at("attention") == "eager" ? attention_impl::eager : attention_impl::sdpa;
  c.dropout = r.at("dropout") == "1";
  c.gradient_checkpointing = r.at("checkpointing") == "1";
  const std::string& m = r.at("method");
  c.method = m == "full" ? finetune_method::full : m == "lora" ? finetune_method::lora : finetune_method::qlora;
  c.dtype = r.at("dtype") == "f32" ? format_id::f32 : format_id::bf16;
  if (c.method != finetune_method::full) {
    c.lora.rank = u32(r, "lora_rank");
    c.lora.targets = r.at("lora_targets") == "all-linear" ? lora_presets::all_linear : lora_presets::qv;
  }
  // prepare_model_for_kbit_training upcasts the norms: QLoRA's activations are float32
  if (c.method == finetune_method::qlora) c.dtype = format_id::f32;
  c.device = autograd_device::cpu;  // where the script ran
  return c;
}

}  // namespace

TEST_CASE("activation ledger within 3% of the bytes autograd saves") {
  const auto rows = read_csv(std::string(QMATH_TEST_DATA_DIR) + "/training_activations/saved_tensors.csv");
  REQUIRE(rows.size() >= 300);
  double worst = 0, sum = 0;
  std::size_t exact = 0;
  for (const row& r : rows) {
    const auto ledger = activation_ledger_of(architecture_of(r), config_of(r));
    const double measured = static_cast<double>(u64(r, "saved_bytes"));
    const double err = (static_cast<double>(ledger.saved) - measured) / measured;
    INFO(r.at("model") << " s=" << r.at("seq") << " b=" << r.at("batch") << " " << r.at("attention")
                       << " dropout=" << r.at("dropout") << " ckpt=" << r.at("checkpointing") << " "
                       << r.at("method") << " " << r.at("dtype") << ": ledger " << ledger.saved << " measured "
                       << r.at("saved_bytes"));
    CHECK(std::abs(err) <= 0.03);
    worst = std::max(worst, std::abs(err));
    sum += std::abs(err);
    if (ledger.saved == u64(r, "saved_bytes")) ++exact;
  }
  std::printf("activation ledger: %zu rows, %zu exact, mean |error| %.3f%%, worst %.3f%%\n", rows.size(), exact,
              100 * sum / static_cast<double>(rows.size()), 100 * worst);
}
