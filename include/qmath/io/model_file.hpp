#pragma once
// qmath::io::load_model(path): one call from a model file on disk to what the
// estimators need, for whichever file a user has.
//
//   auto m = qmath::io::load_model("Meta-Llama-3-8B-Instruct.Q4_K_M.gguf");
//   m.architecture            // qmath::models::architecture (layers, heads, experts, MLA ranks, ...)
//   m.weight_bytes            // exact bytes of the tensors as stored, when the file has them
//   m.parameter_count         // exact parameter count, when the file has the tensors
//   m.tensors                 // per tensor: name, shape, stored type, bytes, class, role, layer
//   m.stored_weights          // the same summed per tensor class (a weight_breakdown)
//   m.recipe                  // the named recipe the file was made with, if any (GGUF ftype)
//
// `path` may be:
//   - a Hugging Face config.json, or a folder holding one. When the folder also
//     holds model.safetensors or model.safetensors.index.json, their headers
//     give the exact tensors (see below). A config.json alone gives the
//     architecture; weight_bytes and parameter_count are then empty and the
//     estimators derive them (qmath::weight_bytes, architecture::parameters).
//   - a GGUF file (recognised by its magic, whatever its name): architecture
//     from its metadata and tensors, exact tensors from its tensor infos
//     (io/gguf_model.hpp). Tensor data is never read.
//   - a .safetensors file or a sharded model.safetensors.index.json: exact
//     tensors from the headers (io/safetensors.hpp; data never read), the
//     architecture from the config.json beside it, which must exist.
//
// Every failure (missing file, unknown format, malformed or truncated file,
// unsupported model type, hostile counts) is one qmath::error whose message is
// a single line "qmath::io::load_model: <path>: <problem>". With
// QMATH_NO_EXCEPTIONS the reader prints its message and aborts instead.
//
// The architecture's string fields (name, source) point to static strings:
// a model can be copied and moved freely. This header does not include xsimd.

#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <algorithm>
#include <new>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "qmath/error.hpp"
#include "qmath/estimate/weights.hpp"
#include "qmath/io/gguf.hpp"
#include "qmath/io/gguf_model.hpp"
#include "qmath/io/hf_config.hpp"
#include "qmath/io/safetensors.hpp"
#include "qmath/io/stored_tensor.hpp"
#include "qmath/models/architecture.hpp"

namespace qmath::io {

enum class model_format : std::uint8_t {
  hf_config,          // config.json only: shapes, no stored tensors
  gguf,               // a GGUF file
  safetensors,        // one .safetensors file (with the config.json beside it)
  safetensors_index,  // a sharded model.safetensors.index.json (with config.json)
};

constexpr std::string_view to_string(model_format f) noexcept {
  switch (f) {
    case model_format::hf_config: return "config.json";
    case model_format::gguf: return "GGUF";
    case model_format::safetensors: return "safetensors";
    case model_format::safetensors_index: return "safetensors index";
  }
  return "unknown";
}

struct model {
  std::filesystem::path path;  // the file that was read (a folder's config.json, the GGUF, ...)
  model_format format = model_format::hf_config;
  std::string name;            // general.name, config.json's _name_or_path, else the file or folder name
  models::architecture architecture;

  // What the file stores, when it lists its tensors (GGUF, safetensors).
  std::vector<stored_tensor> tensors;
  std::optional<std::uint64_t> weight_bytes;     // exact bytes of all tensors
  std::optional<std::uint64_t> parameter_count;  // exact element count of all tensors
  std::optional<weight_breakdown> stored_weights;
  // The named recipe that made the file, where there is one: a GGUF's
  // general.file_type as a llama-quantize ftype, a safetensors checkpoint in
  // one dtype as the checkpoint recipe. The exact per-tensor types are in
  // `tensors` either way (a file can deviate from its nominal recipe).
  std::optional<weight_recipe> recipe;
  // One line each on what qmath approximates for this file (for example the
  // parts of an encoder-decoder that are not estimated, or an architecture
  // whose parameter count differs from the file's tensors).
  std::vector<std::string> notes;

  bool has_tensors() const noexcept { return !tensors.empty(); }
};

namespace detail {

inline constexpr const char* load_model_api = "qmath::io::load_model";

inline std::string read_text_file(const std::filesystem::path& path, std::uint64_t limit) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  QMATH_REQUIRE(!ec, load_model_api, "cannot stat: ", ec.message());
  QMATH_REQUIRE(size <= limit, load_model_api, "the file is ", size, " bytes, more than the ", limit,
                " a JSON file of this kind can take");
  std::ifstream in(path, std::ios::binary);
  QMATH_REQUIRE(in.good(), load_model_api, "cannot open");
  std::string text(static_cast<std::size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  QMATH_REQUIRE(static_cast<std::uint64_t>(in.gcount()) == size, load_model_api, "short read");
  return text;
}

inline bool starts_with_gguf_magic(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::string_view(magic, 4) == "GGUF";
}

// A config.json is at most a few hundred KiB (tokenizer files are separate);
// 16 MiB bounds the memory a hostile one can take.
inline constexpr std::uint64_t max_config_bytes = 16u << 20;

inline void finish_from_tensors(model& m) {
  m.stored_weights = stored_weight_bytes(m.tensors);
  m.weight_bytes = m.stored_weights->total();
  m.parameter_count = m.stored_weights->total_parameters();
  const std::uint64_t modelled = m.architecture.parameters();
  if (modelled != *m.parameter_count) {
    std::ostringstream note;
    note << "the architecture counts " << modelled << " parameters, the file stores " << *m.parameter_count
         << "; weights are priced from the file";
    m.notes.push_back(note.str());
  }
}

// Tensors that pack several weights per stored element (GPTQ/AWQ qweight
// in I32, bitsandbytes 4-bit in U8): the file's element count is not the
// parameter count.
inline bool is_packed_quantized(const stored_tensor& t) {
  const std::string_view n = t.name;
  return n.ends_with(".qweight") || n.ends_with(".qzeros") || n.find(".quant_state.") != std::string_view::npos ||
         n.ends_with(".absmax") || n.ends_with(".SCB");
}

inline model load_gguf_model(const std::filesystem::path& path) {
  const gguf::file f = gguf::read_file(path);
  model m;
  m.path = path;
  m.format = model_format::gguf;
  m.name = !f.model.name.empty() ? f.model.name : path.stem().string();
  m.architecture = gguf_architecture(f);
  m.tensors = gguf_stored_tensors(f);
  if (const auto ftype = gguf_file_ftype(f)) m.recipe = weight_recipe::gguf(*ftype);
  finish_from_tensors(m);
  return m;
}

#if defined(QMATH_HAS_HF_CONFIG)
inline model load_config_model(const std::filesystem::path& config_path) {
  const std::string text = read_text_file(config_path, max_config_bytes);
  const nlohmann::json j = parse_json_text(text, hf_api);
  model m;
  m.path = config_path;
  m.format = model_format::hf_config;
  m.architecture = hf_config_from_json(j);
  m.notes = hf_config_notes(j);
  const auto it = j.find("_name_or_path");
  if (it != j.end() && it->is_string() && !it->get_ref<const std::string&>().empty())
    m.name = it->get<std::string>();
  else
    m.name = std::filesystem::absolute(config_path).parent_path().filename().string();
  return m;
}

// Adds the tensors of safetensors files to a model read from its config.json.
inline void add_safetensors(model& m, const std::vector<safetensors::header>& headers) {
  for (const auto& h : headers)
    for (const auto& t : h.tensors) m.tensors.push_back(to_stored_tensor(t));
  finish_from_tensors(m);
  bool packed = false;
  std::optional<std::string> one_dtype;
  bool uniform = true;
  for (const auto& t : m.tensors) {
    packed = packed || is_packed_quantized(t);
    if (!one_dtype) one_dtype = t.dtype;
    uniform = uniform && t.dtype == *one_dtype && t.format.has_value();
  }
  if (packed) {
    // The architecture's count is the real one; the file's elements are packed words.
    m.parameter_count = m.architecture.parameters();
    m.notes.clear();
    m.notes.push_back("quantized checkpoint with packed weights: parameter_count is the architecture's, "
                      "weight_bytes the file's");
  }
  if (uniform && !m.tensors.empty()) m.recipe = weight_recipe::uniform(*m.tensors.front().format, *m.tensors.front().format);
}

inline std::filesystem::path config_beside(const std::filesystem::path& file) {
  const auto config = std::filesystem::absolute(file).parent_path() / "config.json";
  QMATH_REQUIRE(std::filesystem::is_regular_file(config), load_model_api,
                "no config.json beside it: the architecture (heads, layers, ...) comes from there");
  return config;
}

inline std::vector<safetensors::header> read_index_shards(const std::filesystem::path& index_path,
                                                          std::optional<std::uint64_t>& total_size) {
  const safetensors::index ix = safetensors::parse_index(read_text_file(index_path, max_config_bytes));
  total_size = ix.total_size;
  const auto dir = std::filesystem::absolute(index_path).parent_path();
  std::vector<safetensors::header> headers;
  std::map<std::string, const safetensors::header*> by_shard;
  headers.reserve(ix.shards.size());
  for (const auto& shard : ix.shards) {
    const auto path = dir / shard;
    QMATH_REQUIRE(std::filesystem::is_regular_file(path), load_model_api, "shard '", shard,
                  "' named in the weight_map is missing");
    headers.push_back(safetensors::read_header(path));
  }
  for (std::size_t i = 0; i < ix.shards.size(); ++i) by_shard[ix.shards[i]] = &headers[i];
  for (const auto& [name, shard] : ix.weight_map) {
    const auto& tensors = by_shard[shard]->tensors;
    const bool found = std::any_of(tensors.begin(), tensors.end(), [&](const auto& t) { return t.name == name; });
    QMATH_REQUIRE(found, load_model_api, "tensor '", name, "' is not in shard '", shard, "' as the weight_map says");
  }
  return headers;
}

inline void check_total_size(model& m, std::optional<std::uint64_t> total_size) {
  if (total_size && m.weight_bytes && *total_size != *m.weight_bytes) {
    std::ostringstream note;
    note << "the index's metadata.total_size is " << *total_size << " bytes, the shards hold " << *m.weight_bytes;
    m.notes.push_back(note.str());
  }
}

inline model load_safetensors_model(const std::filesystem::path& path, const std::filesystem::path& config) {
  model m = load_config_model(config);
  m.path = path;
  m.format = model_format::safetensors;
  add_safetensors(m, {safetensors::read_header(path)});
  return m;
}

inline model load_index_model(const std::filesystem::path& path, const std::filesystem::path& config) {
  model m = load_config_model(config);
  m.path = path;
  m.format = model_format::safetensors_index;
  std::optional<std::uint64_t> total_size;
  add_safetensors(m, read_index_shards(path, total_size));
  check_total_size(m, total_size);
  return m;
}

inline bool is_index_json(const std::filesystem::path& path) {
  return path.filename().string().ends_with(".safetensors.index.json");
}
#endif  // QMATH_HAS_HF_CONFIG

inline model load_model_unchecked(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  QMATH_REQUIRE(!ec && fs::exists(status), load_model_api, "no such file or folder");
  if (fs::is_directory(status)) {
    const fs::path config = path / "config.json";
    QMATH_REQUIRE(fs::is_regular_file(config), load_model_api, "the folder has no config.json");
#if defined(QMATH_HAS_HF_CONFIG)
    if (fs::is_regular_file(path / "model.safetensors.index.json"))
      return load_index_model(path / "model.safetensors.index.json", config);
    if (fs::is_regular_file(path / "model.safetensors")) return load_safetensors_model(path / "model.safetensors", config);
    return load_config_model(config);
#endif
  }
  QMATH_REQUIRE(fs::is_regular_file(status), load_model_api, "not a regular file");
  if (starts_with_gguf_magic(path)) return load_gguf_model(path);
  const std::string ext = path.extension().string();
#if defined(QMATH_HAS_HF_CONFIG)
  if (ext == ".safetensors") return load_safetensors_model(path, config_beside(path));
  if (is_index_json(path)) return load_index_model(path, config_beside(path));
  if (ext == ".json") return load_config_model(path);
#endif
  ::qmath::detail::precondition_failed(load_model_api,
                                       "not a model file qmath reads (expected a GGUF file, a config.json, a .safetensors file or a "
                                       "model.safetensors.index.json)");
}

// "API: message" -> "qmath::io::load_model: <path>: message", on one line.
inline std::string load_error_line(const std::filesystem::path& path, std::string_view message) {
  std::string problem(message);
  for (const std::string_view prefix : {std::string_view("qmath::io::load_model: ")})
    if (problem.starts_with(prefix)) problem.erase(0, prefix.size());
  for (char& c : problem)
    if (c == '\n' || c == '\r') c = ' ';
  return std::string(load_model_api) + ": " + path.string() + ": " + problem;
}

}  // namespace detail

// Reads a model file or folder; see the top of this header.
inline model load_model(const std::filesystem::path& path) {
#if QMATH_NO_EXCEPTIONS
  return detail::load_model_unchecked(path);
#else
  try {
    return detail::load_model_unchecked(path);
  } catch (const ::qmath::error& e) {
    throw ::qmath::error(detail::load_error_line(path, e.what()));
  } catch (const std::bad_alloc&) {
    throw ::qmath::error(detail::load_error_line(path, "out of memory while reading"));
  } catch (const std::exception& e) {
    // Filesystem and stream errors; the readers raise nothing else.
    throw ::qmath::error(detail::load_error_line(path, e.what()));
  }
#endif
}

}  // namespace qmath::io
