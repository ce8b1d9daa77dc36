// qmath_model_info PATH: what qmath::io::load_model reads from a model file,
// as one JSON object on stdout, for the Python cross-checks
// (tests/python/test_gguf_model.py, test_safetensors_reader.py). A failure
// prints load_model's one-line message on stderr and exits 2.
#include <qmath/io/model_file.hpp>

#include <iostream>

#include <nlohmann/json.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: qmath_model_info PATH\n";
    return 2;
  }
  try {
    const auto m = qmath::io::load_model(argv[1]);
    const auto& a = m.architecture;
    nlohmann::json j;
    j["format"] = std::string(qmath::io::to_string(m.format));
    j["name"] = m.name;
    j["architecture"] = {{"name", std::string(a.name)},
                         {"layers", a.layers},
                         {"encoder_layers", a.encoder_layers},
                         {"hidden", a.hidden},
                         {"heads", a.heads},
                         {"kv_heads", a.n_kv_heads()},
                         {"head_dim", a.k_head_dim()},
                         {"value_head_dim", a.value_head_dim()},
                         {"intermediate", a.intermediate},
                         {"vocab", a.vocab},
                         {"tied_embeddings", a.tied_embeddings},
                         {"experts", a.experts},
                         {"active_experts", a.active_experts},
                         {"expert_intermediate", a.expert_intermediate},
                         {"shared_expert_intermediate", a.shared_expert_intermediate},
                         {"first_dense_layers", a.first_dense_layers},
                         {"q_lora_rank", a.q_lora_rank},
                         {"kv_lora_rank", a.kv_lora_rank},
                         {"qk_rope_head_dim", a.qk_rope_head_dim},
                         {"sliding_window", a.sliding_window},
                         {"qk_norm", a.qk_norm},
                         {"parameters", a.parameters()}};
    j["weight_bytes"] = m.weight_bytes ? nlohmann::json(*m.weight_bytes) : nlohmann::json(nullptr);
    j["parameter_count"] = m.parameter_count ? nlohmann::json(*m.parameter_count) : nlohmann::json(nullptr);
    j["recipe_kind"] = m.recipe ? static_cast<int>(m.recipe->kind) : -1;
    j["notes"] = m.notes;
    auto& tensors = j["tensors"] = nlohmann::json::array();
    for (const auto& t : m.tensors)
      tensors.push_back({{"name", t.name},
                         {"dtype", t.dtype},
                         {"shape", t.shape},
                         {"elements", t.elements},
                         {"bytes", t.bytes},
                         {"class", static_cast<int>(t.cls)},
                         {"layer", t.layer}});
    std::cout << j.dump() << '\n';
    return 0;
  } catch (const qmath::error& e) {
    std::cerr << e.what() << '\n';
    return 2;
  }
}
