// The GGUF reader: files written by gguf-py (tests/data/gguf, checked against
// what gguf-py's own reader reports), hand-built malformed files for every
// error path, and random mutations of a valid file that must end in a result
// or a qmath::error, never a crash (run under ASan/UBSan in CI).
#include <qmath/io/gguf.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"

namespace fs = std::filesystem;
using qmath::gguf::value_type;

namespace {

const fs::path data_dir = fs::path(QMATH_TEST_DATA_DIR) / "gguf";

std::vector<std::byte> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::vector<char> chars{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<std::byte> bytes(chars.size());
  for (std::size_t i = 0; i < chars.size(); ++i) bytes[i] = static_cast<std::byte>(chars[i]);
  return bytes;
}

std::vector<std::string> split(const std::string& line) {
  std::istringstream in(line);
  return {std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
}

std::string unhex(const std::string& hex) {
  if (hex == "-") return {};
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// Compares one scalar of the manifest (written from gguf-py's reader) with ours.
void check_scalar(const qmath::gguf::value& v, unsigned type, const std::string& text) {
  CHECK(static_cast<unsigned>(v.type) == type);
  switch (static_cast<value_type>(type)) {
    case value_type::uint8: case value_type::uint16: case value_type::uint32: case value_type::uint64:
      REQUIRE(v.as_uint().has_value());
      CHECK(*v.as_uint() == std::stoull(text));
      break;
    case value_type::int8: case value_type::int16: case value_type::int32: case value_type::int64:
      REQUIRE(v.as_int().has_value());
      CHECK(*v.as_int() == std::stoll(text));
      break;
    case value_type::float32: case value_type::float64:
      REQUIRE(v.as_float().has_value());
      CHECK(*v.as_float() == std::strtod(text.c_str(), nullptr));  // float32 widens exactly
      break;
    case value_type::boolean:
      REQUIRE(v.as_bool().has_value());
      CHECK(*v.as_bool() == (text == "1"));
      break;
    case value_type::string:
      REQUIRE(v.as_string() != nullptr);
      CHECK(*v.as_string() == unhex(text));
      break;
    case value_type::array: FAIL("array given as a scalar"); break;
  }
}

// Checks a parsed file against its manifest; returns the number of facts checked.
std::size_t check_against_manifest(const qmath::gguf::file& f, const fs::path& manifest) {
  std::ifstream in(manifest);
  REQUIRE(in.good());
  std::size_t kvs = 0, tensors = 0, facts = 0;
  for (std::string line; std::getline(in, line);) {
    const auto w = split(line);
    if (w.empty()) continue;
    INFO(line);
    ++facts;
    if (w[0] == "version") CHECK(f.version == std::stoul(w[1]));
    else if (w[0] == "alignment") CHECK(f.alignment == std::stoul(w[1]));
    else if (w[0] == "data_offset") CHECK(f.data_offset == std::stoull(w[1]));
    else if (w[0] == "file_size") CHECK(f.file_size == std::stoull(w[1]));
    else if (w[0] == "kv") {
      ++kvs;
      const auto* v = f.find(w[1]);
      REQUIRE(v != nullptr);
      const auto type = static_cast<unsigned>(std::stoul(w[2]));
      if (type != 9) {
        check_scalar(*v, type, w.size() > 3 ? w[3] : std::string{});
        continue;
      }
      REQUIRE(v->as_array() != nullptr);
      const auto element = static_cast<unsigned>(std::stoul(w[3]));
      CHECK(static_cast<unsigned>(v->element_type) == element);
      const auto& items = *v->as_array();
      REQUIRE(items.size() == std::stoull(w[4]));
      if (element == 9) continue;  // nested arrays: the manifest has the count only
      REQUIRE(w.size() == 5 + items.size());
      for (std::size_t i = 0; i < items.size(); ++i) check_scalar(items[i], element, w[5 + i]);
    } else if (w[0] == "tensor") {
      REQUIRE(tensors < f.tensors.size());
      const auto& t = f.tensors[tensors++];
      CHECK(t.name == w[1]);
      CHECK(t.ggml_type == std::stoi(w[2]));
      CHECK(t.format.ggml_type == t.ggml_type);
      REQUIRE(t.n_dims == std::stoul(w[3]));
      for (std::uint32_t d = 0; d < t.n_dims; ++d) CHECK(t.dims[d] == std::stoull(w[4 + d]));
      CHECK(t.file_offset == std::stoull(w[4 + t.n_dims]));
      CHECK(t.bytes == std::stoull(w[5 + t.n_dims]));
      CHECK(t.elements == std::stoull(w[6 + t.n_dims]));
    } else {
      FAIL("unknown manifest line");
    }
  }
  CHECK(kvs == f.metadata.size());
  CHECK(tensors == f.tensors.size());
  return facts;
}

// Builds GGUF bytes by hand, little-endian.
struct builder {
  std::vector<std::byte> bytes;

  builder& u8(std::uint8_t v) {
    bytes.push_back(static_cast<std::byte>(v));
    return *this;
  }
  builder& u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
    return *this;
  }
  builder& u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
    return *this;
  }
  builder& str(const std::string& s) {
    u64(s.size());
    for (char c : s) u8(static_cast<std::uint8_t>(c));
    return *this;
  }
  builder& header(std::uint64_t tensors, std::uint64_t kvs, std::uint32_t version = 3) {
    return u32(0x46554747u).u32(version).u64(tensors).u64(kvs);
  }
  builder& kv_u32(const std::string& key, std::uint32_t v) { return str(key).u32(4).u32(v); }
  builder& kv_str(const std::string& key, const std::string& v) { return str(key).u32(8).str(v); }
  builder& tensor(const std::string& name, std::vector<std::uint64_t> dims, std::uint32_t type, std::uint64_t offset) {
    str(name).u32(static_cast<std::uint32_t>(dims.size()));
    for (auto d : dims) u64(d);
    return u32(type).u64(offset);
  }
  // Zero padding to `alignment`, then `data` bytes of tensor data.
  builder& data(std::size_t n, std::size_t alignment = 32) {
    while (bytes.size() % alignment != 0) u8(0);
    bytes.resize(bytes.size() + n, std::byte{0x5a});
    return *this;
  }
};

qmath::gguf::file parse(const builder& b) { return qmath::gguf::parse(b.bytes); }

// A valid little file: two kvs and two f32 tensors of 8 elements.
builder valid_file() {
  builder b;
  b.header(2, 2).kv_str("general.architecture", "llama").kv_u32("llama.block_count", 1);
  b.tensor("a", {8}, 0, 0).tensor("b", {4, 2}, 0, 32);
  return b.data(64);
}

}  // namespace

TEST_CASE("gguf-py fixtures read exactly as gguf-py's own reader reads them") {
  for (const char* name : {"llama_tiny.gguf", "llama_tiny_v2.gguf", "qwen_aligned64.gguf", "metadata_only.gguf"}) {
    INFO(name);
    const auto bytes = read_bytes(data_dir / name);
    const auto from_memory = qmath::gguf::parse(bytes);
    const auto from_disk = qmath::gguf::read_file(data_dir / name);
    CHECK(check_against_manifest(from_memory, data_dir / (std::string(name) + ".expected")) > 4);
    check_against_manifest(from_disk, data_dir / (std::string(name) + ".expected"));
    std::uint64_t total = 0;
    for (const auto& t : from_memory.tensors) {
      total += t.bytes;
      CHECK(t.file_offset % from_memory.alignment == 0);
      CHECK(t.file_offset + t.bytes <= bytes.size());
    }
    CHECK(from_memory.tensor_bytes == total);
  }
}

TEST_CASE("architecture values of the fixtures, as make_fixtures.py wrote them") {
  const auto llama = qmath::gguf::read_file(data_dir / "llama_tiny.gguf");
  CHECK(llama.version == 3);
  CHECK(llama.model.architecture == "llama");
  CHECK(llama.model.name == "qmath tiny llama");
  CHECK(llama.model.block_count == 2u);
  CHECK(llama.model.context_length == 256u);
  CHECK(llama.model.embedding_length == 64u);
  CHECK(llama.model.feed_forward_length == 128u);
  CHECK(llama.model.head_count == 4u);
  CHECK(llama.model.head_count_kv == 2u);
  CHECK(llama.model.key_length == 16u);
  CHECK(llama.model.value_length == 16u);
  CHECK(llama.model.vocab_size == 10u);  // from tokenizer.ggml.tokens: no llama.vocab_size key
  CHECK(llama.model.file_type == 2u);
  CHECK(llama.model.quantization_version == 2u);
  CHECK_FALSE(llama.model.expert_count.has_value());
  CHECK_FALSE(llama.model.sliding_window.has_value());
  // Block arithmetic by hand (ggml-common.h block sizes): q8_0 64x10 = 20 blocks x 34 B;
  // q4_k 256x2 = 2 x 144; q6_k 512 = 2 x 210; tq2_0 256 = 66; f16 48 x 2; bf16 80 x 2.
  CHECK(llama.find_tensor("token_embd.weight")->bytes == 20 * 34);
  CHECK(llama.find_tensor("blk.0.ffn_up.weight")->bytes == 2 * 144);
  CHECK(llama.find_tensor("blk.0.ffn_down.weight")->bytes == 2 * 210);
  CHECK(llama.find_tensor("blk.1.attn_output.weight")->bytes == 66);
  CHECK(llama.find_tensor("blk.1.f16_3d")->bytes == 96);
  CHECK(llama.find_tensor("blk.1.bf16")->bytes == 160);
  CHECK(llama.find_tensor("blk.1.f32_4d")->n_dims == 4);
  CHECK(llama.find_tensor("missing") == nullptr);
  CHECK(llama.parameter_count == 640 + 64 + 4096 + 2048 + 512 + 512 + 768 + 128 + 256 + 48 + 80 + 48);
  const auto* nested = llama.find("qmath.test.nested");
  REQUIRE(nested != nullptr);
  REQUIRE(nested->as_array()->size() == 2);
  const auto first_value = (*nested->as_array())[0];
  const auto second_value = (*nested->as_array())[1];
  const auto& first = *first_value.as_array();
  const auto& second = *second_value.as_array();
  REQUIRE(first.size() == 3);
  REQUIRE(second.size() == 2);
  CHECK(*first[2].as_int() == 3);
  CHECK(*second[1].as_int() == 5);

  const auto v2 = qmath::gguf::read_file(data_dir / "llama_tiny_v2.gguf");
  CHECK(v2.version == 2);
  CHECK(v2.tensor_bytes == llama.tensor_bytes);

  const auto qwen = qmath::gguf::read_file(data_dir / "qwen_aligned64.gguf");
  CHECK(qwen.alignment == 64);
  CHECK(qwen.data_offset % 64 == 0);
  CHECK(qwen.model.architecture == "qwen2");
  CHECK(qwen.model.block_count == 3u);         // stored as uint64
  CHECK(qwen.model.head_count_kv == 4u);       // per-layer [2, 4, 2]: the largest
  CHECK(qwen.model.feed_forward_length == 96u);
  CHECK(qwen.model.vocab_size == 151936u);     // the explicit key wins
  CHECK_FALSE(qwen.model.key_length.has_value());
  CHECK(qwen.model.head_dim() == 8u);  // embedding_length 32 / 4 heads
  CHECK(qwen.model.kv_heads() == 4u);
  CHECK(llama.model.head_dim() == 16u);  // llama.attention.key_length

  const auto empty = qmath::gguf::read_file(data_dir / "metadata_only.gguf");
  CHECK(empty.tensors.empty());
  CHECK(empty.tensor_bytes == 0);
  CHECK(empty.model.architecture == "gpt2");
  CHECK(empty.model.context_length == 1024u);
}

TEST_CASE("a hand-built file parses to the values written") {
  const auto f = parse(valid_file());
  CHECK(f.version == 3);
  CHECK(f.metadata.size() == 2);
  REQUIRE(f.tensors.size() == 2);
  CHECK(f.tensors[1].dims[0] == 4);
  CHECK(f.tensors[1].dims[1] == 2);
  CHECK(f.tensors[1].elements == 8);
  CHECK(f.tensors[1].bytes == 32);
  CHECK(f.tensors[1].file_offset == f.data_offset + 32);
  CHECK(f.model.block_count == 1u);
  CHECK_FALSE(f.model.head_count.has_value());
  CHECK_FALSE(f.model.head_dim().has_value());
  CHECK_FALSE(f.model.kv_heads().has_value());
}

TEST_CASE("malformed headers are rejected with the offset and what was expected") {
  using Catch::Contains;
  builder bad_magic;
  bad_magic.u32(0x46554746u).u32(3).u64(0).u64(0);
  CHECK_THROWS_WITH(parse(bad_magic), Contains("bad magic at offset 0"));
  builder v1;
  v1.header(0, 0, 1);
  CHECK_THROWS_WITH(parse(v1), Contains("version 1"));
  builder v4;
  v4.header(0, 0, 4);
  CHECK_THROWS_WITH(parse(v4), Contains("unsupported GGUF version 4"));
  builder big_endian;
  big_endian.header(0, 0, 0x03000000u);
  CHECK_THROWS_WITH(parse(big_endian), Contains("big-endian"));
  builder short_header;
  short_header.u32(0x46554747u).u32(3).u32(0);
  CHECK_THROWS_WITH(parse(short_header), Contains("truncated file: at offset 8 expected 8 bytes of the tensor count"));
  CHECK_THROWS_WITH(qmath::gguf::parse(std::span<const std::byte>{}), Contains("truncated file: at offset 0"));
  // An empty file is not an error: header, no metadata, no tensors.
  builder minimal;
  minimal.header(0, 0);
  CHECK(parse(minimal).tensors.empty());
}

TEST_CASE("malformed metadata is rejected") {
  using Catch::Contains;
  {
    builder b;  // the key's length runs past the end
    b.header(0, 1).u64(1000).u32(0).u64(0);
    CHECK_THROWS_WITH(parse(b), Contains("at offset 24: length 1000 of a metadata key runs past the end"));
  }
  {
    builder b;  // a string value's length runs past the end
    b.header(0, 1).str("k").u32(8).u64(~std::uint64_t{0});
    CHECK_THROWS_WITH(parse(b), Contains("of a string value runs past the end"));
  }
  {
    builder b;  // truncated in the middle of a value
    b.header(0, 1).str("k").u32(10).u32(7);
    CHECK_THROWS_WITH(parse(b), Contains("expected 8 bytes of a uint64 value"));
  }
  {
    builder b;
    b.header(0, 1).str("k").u32(13).u32(0);
    CHECK_THROWS_WITH(parse(b), Contains("unknown value type 13 of key 'k'"));
  }
  {
    builder b;
    b.header(0, 1).str("k").u32(9).u32(77).u64(0);
    CHECK_THROWS_WITH(parse(b), Contains("unknown array element type 77"));
  }
  {
    builder b;
    b.header(0, 1).str("k").u32(7).u8(2);
    CHECK_THROWS_WITH(parse(b), Contains("bool value 2 is neither 0 nor 1"));
  }
  {
    builder b;
    b.header(0, 2).kv_u32("k", 1).kv_u32("k", 2);
    CHECK_THROWS_WITH(parse(b), Contains("duplicate metadata key 'k'"));
  }
  {
    builder b;  // a key longer than the spec's 65535 bytes
    b.header(0, 1).str(std::string(65536, 'k')).u32(0).u8(0);
    CHECK_THROWS_WITH(parse(b), Contains("a metadata key is 65536 bytes long, the limit is 65535"));
  }
  {
    builder b;  // absurd counts are refused before anything is allocated for them
    b.header(0, std::uint64_t{1} << 60).kv_u32("k", 1);
    CHECK_THROWS_WITH(parse(b), Contains("metadata entries cannot fit"));
    builder t;
    t.header(std::uint64_t{1} << 60, 0).u64(0);
    CHECK_THROWS_WITH(parse(t), Contains("tensor infos cannot fit"));
    builder a;
    a.header(0, 1).str("k").u32(9).u32(12).u64(std::uint64_t{1} << 61).u64(0);
    CHECK_THROWS_WITH(parse(a), Contains("array of 2305843009213693952 float64 elements cannot fit"));
    builder s;  // strings take at least their 8-byte length each
    s.header(0, 1).str("k").u32(9).u32(8).u64(3).u64(0).u64(0);
    CHECK_THROWS_WITH(parse(s), Contains("array of 3 string elements cannot fit"));
  }
  {
    builder b;  // arrays of arrays of ... deeper than any real file
    b.header(0, 1).str("k").u32(9);
    for (int i = 0; i < 9; ++i) b.u32(9).u64(1);
    b.u32(0).u64(0);
    CHECK_THROWS_WITH(parse(b), Contains("nested deeper than 8"));
  }
  {
    builder b;
    b.header(0, 1).kv_u32("general.alignment", 48);
    CHECK_THROWS_WITH(parse(b), Contains("general.alignment must be a uint32 power of two"));
    builder z;
    z.header(0, 1).kv_u32("general.alignment", 0);
    CHECK_THROWS_AS(parse(z), qmath::error);
    builder huge;
    huge.header(0, 1).kv_u32("general.alignment", 1u << 21);
    CHECK_THROWS_WITH(parse(huge), Contains("up to 1048576, got type uint32 value 2097152"));
    builder s;
    s.header(0, 1).kv_str("general.alignment", "32");
    CHECK_THROWS_WITH(parse(s), Contains("got type string"));
  }
  {
    builder b;  // architecture keys of the wrong type
    b.header(0, 2).kv_str("general.architecture", "llama").kv_str("llama.block_count", "32");
    CHECK_THROWS_WITH(parse(b), Contains("metadata key llama.block_count has type string, expected a non-negative integer"));
    builder n;
    n.header(0, 1).str("general.architecture").u32(4).u32(7);
    CHECK_THROWS_WITH(parse(n), Contains("general.architecture has type uint32, expected string"));
  }
}

TEST_CASE("malformed tensor infos are rejected") {
  using Catch::Contains;
  const auto one_tensor = [](const std::string& name, std::vector<std::uint64_t> dims, std::uint32_t type,
                             std::uint64_t offset, std::size_t data = 64) {
    builder b;
    b.header(1, 0).tensor(name, std::move(dims), type, offset);
    return b.data(data);
  };
  CHECK_THROWS_WITH(parse(one_tensor("t", {1, 1, 1, 1, 1}, 0, 0)), Contains("tensor 't' has 5 dimensions, expected at most 4"));
  CHECK_THROWS_WITH(parse(one_tensor("t", {1, 1, 1, 1, 1, 1, 1, 1, 1}, 0, 0)), Contains("has 9 dimensions"));
  CHECK_THROWS_WITH(parse(one_tensor("t", {32}, 4, 0)), Contains("tensor 't' has unknown ggml type 4"));
  CHECK_THROWS_WITH(parse(one_tensor("t", {32}, 1000, 0)), Contains("unknown ggml type 1000"));
  CHECK_THROWS_WITH(parse(one_tensor("t", {32}, 0xFFFFFFFFu, 0)), Contains("unknown ggml type 4294967295"));
  CHECK_THROWS_WITH(parse(one_tensor("t", {33, 2}, 8, 0)),
                    Contains("of type q8_0 has a row of 33 elements, not a multiple of its block size 32"));
  CHECK_THROWS_WITH(parse(one_tensor("t", {8}, 0, 16)), Contains("data offset 16 is not a multiple of the alignment 32"));
  CHECK_THROWS_WITH(parse(one_tensor("t", {32}, 0, 0)), Contains("lies past the end of the"));
  CHECK_THROWS_WITH(parse(one_tensor("t", {8}, 0, 64)), Contains("lies past the end of the"));
  CHECK_THROWS_WITH(parse(one_tensor("t", {8}, 0, ~std::uint64_t{31})), Contains("lies past the end of the"));
  CHECK_THROWS_WITH(parse(one_tensor("t", {std::uint64_t{1} << 62, 4}, 0, 0)),
                    Contains("has more elements than int64 can count"));
  CHECK_THROWS_WITH(parse(one_tensor("t", {std::uint64_t{1} << 63}, 0, 0)), Contains("more elements than int64"));
  CHECK_THROWS_WITH(parse(one_tensor("t", {std::uint64_t{1} << 40}, 0, 0)), Contains("more than a"));
  CHECK_THROWS_WITH(parse(one_tensor(std::string(64, 'n'), {8}, 0, 0)),
                    Contains("a tensor name is 64 bytes long, the limit is 63"));
  CHECK(parse(one_tensor(std::string(63, 'n'), {8}, 0, 0)).tensors[0].name.size() == 63);
  {
    builder b;
    b.header(2, 0).tensor("t", {8}, 0, 0).tensor("t", {8}, 0, 32);
    CHECK_THROWS_WITH(parse(b.data(64)), Contains("duplicate tensor name 't'"));
  }
  {
    builder b;  // 16 f32 = 64 bytes at 0 and 8 more at 32
    b.header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {8}, 0, 32);
    CHECK_THROWS_WITH(parse(b.data(96)), Contains("tensors 'a' and 'b' overlap"));
  }
  {
    builder b;  // truncated inside the tensor infos
    b.header(1, 0).str("t").u32(2).u64(8).u8(0).u8(0).u8(0);
    CHECK_THROWS_WITH(parse(b), Contains("expected 8 bytes of a dimension"));
  }
  // No dimensions is a scalar; zero-sized dimensions are legal (ggml allows ne = 0) and take no bytes.
  CHECK(parse(one_tensor("t", {}, 0, 0, 4)).tensors[0].elements == 1);
  CHECK(parse(one_tensor("t", {0, 4}, 8, 0, 0)).tensors[0].bytes == 0);
}

TEST_CASE("every truncation of a valid file is an error, never a crash") {
  const auto bytes = read_bytes(data_dir / "llama_tiny.gguf");
  const auto full = qmath::gguf::parse(bytes);
  // The last tensor ends at the end of the file, so every shorter prefix misses bytes.
  REQUIRE(full.tensors.back().file_offset + full.tensors.back().bytes == bytes.size());
  std::size_t errors = 0;
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    try {
      (void)qmath::gguf::parse(std::span(bytes.data(), n));
    } catch (const qmath::error&) {
      ++errors;
    }
  }
  CHECK(errors == bytes.size());
}

TEST_CASE("random mutations of a valid file give a result or a qmath::error") {
  const auto original = read_bytes(data_dir / "llama_tiny.gguf");
  const auto header_end = static_cast<std::size_t>(qmath::gguf::parse(original).data_offset);
#if QMATH_TEST_FAST_SWEEPS
  constexpr int iterations = 10000;
#else
  constexpr int iterations = 100000;
#endif
  std::mt19937 rng(12345);
  std::size_t parsed = 0, rejected = 0;
  for (int i = 0; i < iterations; ++i) {
    auto bytes = original;
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      // Mostly the header, metadata and tensor infos, where the structure is.
      const std::size_t limit = rng() % 8 == 0 ? bytes.size() : header_end;
      const std::size_t at = rng() % limit;
      switch (rng() % 4) {
        case 0: bytes[at] = static_cast<std::byte>(rng()); break;
        case 1: bytes[at] = std::byte{0xff}; break;
        case 2: bytes[at] = std::byte{0x00}; break;
        default: bytes[at] ^= static_cast<std::byte>(1u << (rng() % 8)); break;
      }
    }
    if (rng() % 16 == 0) bytes.resize(rng() % bytes.size());
    try {
      const auto f = qmath::gguf::parse(bytes);
      ++parsed;
      for (const auto& t : f.tensors) {
        REQUIRE(t.file_offset + t.bytes <= bytes.size());
        REQUIRE(t.file_offset % f.alignment == 0);
      }
    } catch (const qmath::error&) {
      ++rejected;
    }
  }
  CHECK(parsed + rejected == iterations);
  CHECK(parsed > 0);    // some edits hit bytes that do not matter (tensor data, string contents)
  CHECK(rejected > 0);
}

TEST_CASE("read_file reads more than its first chunk when the metadata needs it") {
  // A 1.5 MiB string pushes the tensor infos past read_file's first 1 MiB read.
  builder b;
  b.header(1, 2).kv_str("general.description", std::string(3 << 19, 'x')).kv_u32("general.alignment", 64);
  b.tensor("t", {16}, 0, 0).data(64, 64);
  const fs::path path = fs::temp_directory_path() / "qmath_test_gguf_large_metadata.gguf";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(b.bytes.data()), static_cast<std::streamsize>(b.bytes.size()));
  }
  const auto from_disk = qmath::gguf::read_file(path);
  const auto from_memory = qmath::gguf::parse(b.bytes);
  fs::remove(path);
  CHECK(from_disk.data_offset == from_memory.data_offset);
  CHECK(from_disk.data_offset % 64 == 0);
  REQUIRE(from_disk.tensors.size() == 1);
  CHECK(from_disk.tensors[0].file_offset == from_memory.tensors[0].file_offset);
  CHECK(from_disk.find("general.description")->as_string()->size() == (3u << 19));
  CHECK_THROWS_WITH(qmath::gguf::read_file(data_dir / "does_not_exist.gguf"), Catch::Contains("cannot open"));
}
