#pragma once
// A safetensors header reader, and the sharded model.safetensors.index.json.
// Only the header is read, never the tensor data.
//
// Layout (huggingface/safetensors README "Format", and the Rust crate's
// safetensors/src/tensor.rs, which every binding uses):
//   u64 N (little-endian), N bytes of UTF-8 JSON, then the data buffer.
//   The JSON is an object: an optional "__metadata__" object of string values,
//   and per tensor {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]}
//   with offsets relative to the start of the data buffer.
// The checks are the crate's (Metadata::validate and read_metadata): N at most
// 100,000,000 bytes (MAX_HEADER_SIZE) and inside the file, the JSON starts with
// '{', every tensor's end - begin equals its element count times its dtype size
// (sub-byte dtypes must fill whole bytes), the tensors sorted by offset tile
// the data buffer without gap or overlap, and the buffer ends where the last
// tensor does. Products of shapes are checked for overflow. Every failure is a
// qmath::error naming the tensor and the numbers.
//
// Needs nlohmann_json (as qmath/io/hf_config.hpp). This header does not include xsimd.

#if __has_include(<nlohmann/json.hpp>)

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "qmath/detail/checked.hpp"
#include "qmath/error.hpp"
#include "qmath/formats/table.hpp"
#include "qmath/io/hf_config.hpp"
#include "qmath/io/hf_tensor_names.hpp"
#include "qmath/io/stored_tensor.hpp"

#define QMATH_HAS_SAFETENSORS 1

namespace qmath::io {

namespace safetensors {

inline constexpr std::uint64_t max_header_bytes = 100'000'000;  // safetensors MAX_HEADER_SIZE

// A dtype of the safetensors format (safetensors/src/tensor.rs enum Dtype) and
// its size in bits; `format` is qmath's format for it where it has one.
struct dtype_info {
  std::string_view name;
  std::uint32_t bits;
  std::optional<format_id> format;
};

inline constexpr dtype_info dtypes[] = {
    {"BOOL", 8, std::nullopt},    {"F4", 4, std::nullopt},       {"F6_E2M3", 6, std::nullopt},
    {"F6_E3M2", 6, std::nullopt}, {"U8", 8, std::nullopt},       {"I8", 8, std::nullopt},
    {"F8_E5M2", 8, format_id::fp8_e5m2}, {"F8_E4M3", 8, format_id::fp8_e4m3},
    {"F8_E8M0", 8, std::nullopt}, {"I16", 16, std::nullopt},     {"U16", 16, std::nullopt},
    {"F16", 16, format_id::f16},  {"BF16", 16, format_id::bf16}, {"I32", 32, std::nullopt},
    {"U32", 32, std::nullopt},    {"F32", 32, format_id::f32},   {"C64", 64, std::nullopt},
    {"F64", 64, std::nullopt},    {"I64", 64, std::nullopt},     {"U64", 64, std::nullopt},
};

inline const dtype_info* find_dtype(std::string_view name) {
  for (const auto& d : dtypes)
    if (d.name == name) return &d;
  return nullptr;
}

struct tensor {
  std::string name;
  std::string dtype;
  std::vector<std::uint64_t> shape;
  std::uint64_t elements = 0;
  std::uint64_t begin = 0;  // data_offsets, relative to the data buffer
  std::uint64_t end = 0;
  std::uint64_t bytes() const noexcept { return end - begin; }
};

struct header {
  std::uint64_t header_bytes = 0;  // N
  std::uint64_t data_bytes = 0;    // the data buffer: file size - 8 - N
  std::map<std::string, std::string> metadata;
  std::vector<tensor> tensors;  // sorted by offset
};

namespace detail {

inline constexpr const char* api = "qmath::io::safetensors::parse_header";

inline std::uint64_t json_u64(const nlohmann::json& v, const std::string& tensor, const char* what) {
  QMATH_REQUIRE(v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0), api, "tensor '",
                tensor, "': ", what, " must be non-negative integers, got ", v.dump());
  return v.get<std::uint64_t>();
}

}  // namespace detail

// Parses the JSON header of a file whose data buffer has `data_bytes` bytes.
inline header parse_header_json(std::string_view json_text, std::uint64_t data_bytes) {
  using detail::api;
  header h;
  h.header_bytes = json_text.size();
  h.data_bytes = data_bytes;
  // The crate requires the header to start with '{' (InvalidHeaderStart) and
  // allows trailing spaces as padding.
  QMATH_REQUIRE(!json_text.empty() && json_text.front() == '{', api, "the header does not start with '{'");
  const nlohmann::json j = ::qmath::io::detail::parse_json_text(json_text, api);
  QMATH_REQUIRE(j.is_object(), api, "the header is not a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json& v = it.value();
    if (key == "__metadata__") {
      QMATH_REQUIRE(v.is_object(), api, "__metadata__ must be an object of strings, got ", v.type_name());
      for (auto m = v.begin(); m != v.end(); ++m) {
        QMATH_REQUIRE(m.value().is_string(), api, "__metadata__ value '", m.key(), "' must be a string, got ",
                      m.value().type_name());
        h.metadata.emplace(m.key(), m.value().get<std::string>());
      }
      continue;
    }
    QMATH_REQUIRE(v.is_object(), api, "tensor '", key, "' must be an object, got ", v.type_name());
    tensor t;
    t.name = key;
    const auto dtype = v.find("dtype");
    QMATH_REQUIRE(dtype != v.end() && dtype->is_string(), api, "tensor '", key, "' has no string dtype");
    t.dtype = dtype->get<std::string>();
    const dtype_info* d = find_dtype(t.dtype);
    QMATH_REQUIRE(d != nullptr, api, "tensor '", key, "' has unknown dtype '", t.dtype, "'");
    const auto shape = v.find("shape");
    QMATH_REQUIRE(shape != v.end() && shape->is_array(), api, "tensor '", key, "' has no shape array");
    QMATH_REQUIRE(shape->size() <= 64, api, "tensor '", key, "' has ", shape->size(), " dimensions");
    t.elements = 1;
    for (const auto& dim : *shape) {
      t.shape.push_back(detail::json_u64(dim, key, "shape dimensions"));
      t.elements = ::qmath::detail::checked_mul(t.elements, t.shape.back(), api, "tensor element count");
    }
    const auto offsets = v.find("data_offsets");
    QMATH_REQUIRE(offsets != v.end() && offsets->is_array() && offsets->size() == 2, api, "tensor '", key,
                  "' needs data_offsets [begin, end]");
    t.begin = detail::json_u64((*offsets)[0], key, "data_offsets");
    t.end = detail::json_u64((*offsets)[1], key, "data_offsets");
    QMATH_REQUIRE(t.begin <= t.end, api, "tensor '", key, "' data_offsets [", t.begin, ", ", t.end,
                  "] run backwards");
    QMATH_REQUIRE(t.end <= data_bytes, api, "tensor '", key, "' data_offsets [", t.begin, ", ", t.end,
                  "] run past the ", data_bytes, "-byte data buffer");
    const std::uint64_t bits = ::qmath::detail::checked_mul(t.elements, d->bits, api, "tensor bits");
    QMATH_REQUIRE(bits % 8 == 0, api, "tensor '", key, "': ", t.elements, " elements of ", t.dtype,
                  " do not fill whole bytes");
    QMATH_REQUIRE(t.end - t.begin == bits / 8, api, "tensor '", key, "' of ", t.elements, " ", t.dtype,
                  " elements needs ", bits / 8, " bytes, its data_offsets [", t.begin, ", ", t.end, "] hold ",
                  t.end - t.begin);
    h.tensors.push_back(std::move(t));
  }
  std::sort(h.tensors.begin(), h.tensors.end(), [](const tensor& a, const tensor& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t at = 0;
  for (const auto& t : h.tensors) {
    QMATH_REQUIRE(t.begin >= at, api, "tensor '", t.name, "' at [", t.begin, ", ", t.end,
                  ") overlaps the tensor before it, which ends at ", at);
    QMATH_REQUIRE(t.begin == at, api, "tensor '", t.name, "' starts at ", t.begin, ", leaving a gap after ", at);
    at = t.end;
  }
  QMATH_REQUIRE(at == data_bytes, api, "the tensors end at ", at, " but the data buffer has ", data_bytes,
                " bytes");
  return h;
}

// Reads the header of a .safetensors file (only the first 8 + N bytes).
inline header read_header(const std::filesystem::path& path) {
  constexpr const char* api = "qmath::io::safetensors::read_header";
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  QMATH_REQUIRE(!ec, api, "cannot stat ", path.string(), ": ", ec.message());
  QMATH_REQUIRE(size >= 8, api, "the file has ", size, " bytes, fewer than the 8-byte header length");
  std::ifstream in(path, std::ios::binary);
  QMATH_REQUIRE(in.good(), api, "cannot open ", path.string());
  unsigned char length_bytes[8] = {};
  in.read(reinterpret_cast<char*>(length_bytes), 8);
  QMATH_REQUIRE(in.gcount() == 8, api, "short read");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | length_bytes[i];
  QMATH_REQUIRE(n <= max_header_bytes, api, "header length ", n, " is more than the ", max_header_bytes,
                " bytes safetensors allows");
  QMATH_REQUIRE(n <= size - 8, api, "header length ", n, " runs past the end of the ", size, "-byte file");
  std::string json(static_cast<std::size_t>(n), '\0');
  in.read(json.data(), static_cast<std::streamsize>(n));
  QMATH_REQUIRE(static_cast<std::uint64_t>(in.gcount()) == n, api, "short read of the header");
  return parse_header_json(json, size - 8 - n);
}

// A whole file held in memory (the fuzz target's entry point).
inline header parse(std::string_view bytes) {
  constexpr const char* api = "qmath::io::safetensors::parse";
  QMATH_REQUIRE(bytes.size() >= 8, api, "the file has ", bytes.size(), " bytes, fewer than the 8-byte header length");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  QMATH_REQUIRE(n <= max_header_bytes, api, "header length ", n, " is more than the ", max_header_bytes,
                " bytes safetensors allows");
  QMATH_REQUIRE(n <= bytes.size() - 8, api, "header length ", n, " runs past the end of the ", bytes.size(),
                "-byte file");
  return parse_header_json(bytes.substr(8, static_cast<std::size_t>(n)), bytes.size() - 8 - n);
}

// model.safetensors.index.json: which shard holds each tensor.
struct index {
  std::optional<std::uint64_t> total_size;     // metadata.total_size, as written by transformers
  std::map<std::string, std::string> weight_map;  // tensor -> shard file name
  std::vector<std::string> shards;               // distinct shard names, sorted
};

inline index parse_index(std::string_view text) {
  constexpr const char* api = "qmath::io::safetensors::parse_index";
  const nlohmann::json j = ::qmath::io::detail::parse_json_text(text, api);
  QMATH_REQUIRE(j.is_object(), api, "the index is not a JSON object");
  index ix;
  if (const auto meta = j.find("metadata"); meta != j.end() && meta->is_object()) {
    if (const auto total = meta->find("total_size"); total != meta->end() && !total->is_null()) {
      QMATH_REQUIRE(total->is_number_unsigned() || (total->is_number_integer() && total->get<std::int64_t>() >= 0),
                    api, "metadata.total_size must be a non-negative integer, got ", total->dump());
      ix.total_size = total->get<std::uint64_t>();
    }
  }
  const auto map = j.find("weight_map");
  QMATH_REQUIRE(map != j.end() && map->is_object(), api, "no weight_map object");
  std::set<std::string> shards;
  for (auto it = map->begin(); it != map->end(); ++it) {
    QMATH_REQUIRE(it.value().is_string(), api, "weight_map entry '", it.key(), "' is not a file name");
    const std::string shard = it.value().get<std::string>();
    // A shard is a file beside the index: no folders, no way out of it.
    QMATH_REQUIRE(!shard.empty() && shard.find('/') == std::string::npos && shard.find('\\') == std::string::npos &&
                      shard != "." && shard != "..",
                  api, "weight_map entry '", it.key(), "' names '", shard, "', not a file beside the index");
    ix.weight_map.emplace(it.key(), shard);
    shards.insert(shard);
  }
  QMATH_REQUIRE(!ix.weight_map.empty(), api, "the weight_map is empty");
  ix.shards.assign(shards.begin(), shards.end());
  return ix;
}

}  // namespace safetensors

// A safetensors tensor as a stored tensor, its role classified from the
// Hugging Face module name.
inline stored_tensor to_stored_tensor(const safetensors::tensor& t) {
  stored_tensor s;
  s.name = t.name;
  s.shape = t.shape;
  s.dtype = t.dtype;
  if (const auto* d = safetensors::find_dtype(t.dtype); d != nullptr && d->format) s.format = info(*d->format);
  s.elements = t.elements;
  s.bytes = t.bytes();
  classify_hf_tensor(s);
  return s;
}

}  // namespace qmath::io

#endif  // __has_include(<nlohmann/json.hpp>)
