#pragma once
// A GGUF reader: header, metadata, tensor infos and the architecture values the
// estimators need, with every size checked against the file.
//
// Layout (ggml-org/ggml docs/gguf.md, "File Structure"; GGUF v2 and v3 share it,
// v3 only adds big-endian files, which cannot be told apart and are rejected):
//   u32 magic "GGUF", u32 version, u64 tensor_count, u64 metadata_kv_count,
//   metadata_kv_count x { string key, u32 value_type, value },
//   tensor_count x { string name, u32 n_dims, u64 dims[n_dims], u32 ggml_type,
//                    u64 offset (relative to the data section) },
//   zero padding to `general.alignment` (u32, default 32), tensor data.
//   string = u64 length + bytes (no terminator); array = u32 element type,
//   u64 count, elements. Little-endian.
// Tensor sizes come from the format table (qmath::find_ggml_type +
// qmath::storage_bytes), the single source of block sizes.
//
// The checks follow ggml's own loader (ggml-org/ggml src/gguf.cpp,
// gguf_init_from_file_impl): versions 2..3, no duplicate keys or tensor names,
// names shorter than 64 bytes, at most 4 dimensions, element counts below
// INT64_MAX, rows of whole blocks, alignment a power of two up to 1 MiB. ggml
// also insists that tensors follow each other in file order without gaps; we
// only require each to be aligned, inside the file and not overlapping another,
// which every file ggml accepts satisfies.
//
// Every count read from the file is checked against the bytes that remain
// before anything is allocated from it, so a corrupt or hostile file produces a
// qmath::error naming the offset and what was expected, never a crash or a huge
// allocation. This header does not include xsimd.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "qmath/error.hpp"
#include "qmath/formats/format_info.hpp"
#include "qmath/formats/table.hpp"

namespace qmath::gguf {

// GGUF metadata value types (docs/gguf.md, enum gguf_metadata_value_type).
enum class value_type : std::uint32_t {
  uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6,
  boolean = 7, string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12,
};

constexpr std::string_view to_string(value_type t) noexcept {
  constexpr std::array<std::string_view, 13> names{"uint8", "int8",   "uint16", "int16",  "uint32", "int32", "float32",
                                                   "bool",  "string", "array",  "uint64", "int64",  "float64"};
  const auto i = static_cast<std::uint32_t>(t);
  return i < names.size() ? names[i] : std::string_view{"unknown"};
}

inline constexpr std::uint32_t default_alignment = 32;  // gguf-py constants.py GGUF_DEFAULT_ALIGNMENT
inline constexpr std::uint32_t max_dims = 4;             // GGML_MAX_DIMS
inline constexpr std::size_t max_key_length = 65535;     // docs/gguf.md: keys are at most 2^16-1 bytes
inline constexpr std::size_t max_tensor_name_length = 63; // ggml: shorter than GGML_MAX_NAME (64, with the NUL)
inline constexpr std::uint32_t max_alignment = 1u << 20; // ggml: GGUF_MAX_ALIGNMENT, 1 MiB
inline constexpr unsigned max_array_depth = 8;           // nesting deeper than any real file; guards the stack

struct value;

// An array value. Arrays of scalars stay packed as the file stores them
// (little-endian, `element_size` bytes each) and are decoded one element at a
// time, so a file with an array of 64 Mi uint8 costs 64 MiB, not 64 Mi decoded
// values; arrays of strings keep one std::string per element, nested arrays
// one value each. Indexing and iteration yield decoded values.
class array {
 public:
  array() = default;

  value_type element_type() const noexcept { return element_type_; }
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  // Element i, decoded (a copy for strings and nested arrays).
  value operator[](std::size_t i) const;
  // The stored bytes of a scalar array (empty for strings and nested arrays).
  std::span<const std::byte> packed() const noexcept { return packed_; }
  const std::vector<std::string>& strings() const noexcept { return strings_; }
  const std::vector<value>& arrays() const noexcept { return arrays_; }

  class iterator {
   public:
    using value_type = ::qmath::gguf::value;
    using difference_type = std::ptrdiff_t;
    iterator(const array* a, std::size_t i) : a_(a), i_(i) {}
    ::qmath::gguf::value operator*() const;
    iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator==(const iterator& o) const noexcept { return i_ == o.i_; }
    bool operator!=(const iterator& o) const noexcept { return i_ != o.i_; }

   private:
    const array* a_;
    std::size_t i_;
  };
  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, count_}; }

 private:
  friend struct detail_array_access;
  value_type element_type_ = value_type::uint8;
  std::size_t count_ = 0;
  std::vector<std::byte> packed_;
  std::vector<std::string> strings_;
  std::vector<value> arrays_;
};

// One metadata value. Integers keep their sign class (unsigned in `data` as
// std::uint64_t, signed as std::int64_t), floats are widened to double; `type`
// is the type the file stored.
struct value {
  value_type type = value_type::uint8;
  value_type element_type = value_type::uint8;  // arrays: the type of the elements
  std::variant<std::uint64_t, std::int64_t, double, bool, std::string, array> data;

  bool is_integer() const noexcept {
    return std::holds_alternative<std::uint64_t>(data) || std::holds_alternative<std::int64_t>(data);
  }
  // The value as a non-negative integer, if it is one.
  std::optional<std::uint64_t> as_uint() const noexcept {
    if (const auto* u = std::get_if<std::uint64_t>(&data)) return *u;
    if (const auto* i = std::get_if<std::int64_t>(&data); i && *i >= 0) return static_cast<std::uint64_t>(*i);
    return std::nullopt;
  }
  std::optional<std::int64_t> as_int() const noexcept {
    if (const auto* i = std::get_if<std::int64_t>(&data)) return *i;
    if (const auto* u = std::get_if<std::uint64_t>(&data);
        u && *u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return static_cast<std::int64_t>(*u);
    return std::nullopt;
  }
  std::optional<double> as_float() const noexcept {
    if (const auto* d = std::get_if<double>(&data)) return *d;
    return std::nullopt;
  }
  std::optional<bool> as_bool() const noexcept {
    if (const auto* b = std::get_if<bool>(&data)) return *b;
    return std::nullopt;
  }
  const std::string* as_string() const noexcept { return std::get_if<std::string>(&data); }
  const array* as_array() const noexcept { return std::get_if<array>(&data); }
};

// Bytes of one element of a scalar type (0 for strings and arrays).
constexpr std::size_t element_size(value_type t) noexcept {
  switch (t) {
    case value_type::uint8: case value_type::int8: case value_type::boolean: return 1;
    case value_type::uint16: case value_type::int16: return 2;
    case value_type::uint32: case value_type::int32: case value_type::float32: return 4;
    case value_type::uint64: case value_type::int64: case value_type::float64: return 8;
    case value_type::string: case value_type::array: return 0;
  }
  return 0;
}

// Decodes one little-endian scalar of type t from its element_size(t) bytes.
inline value decode_scalar(value_type t, const std::byte* p) {
  std::uint64_t bits = 0;
  const std::size_t n = element_size(t);
  for (std::size_t i = 0; i < n; ++i) bits |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  value v;
  v.type = t;
  switch (t) {
    case value_type::uint8: case value_type::uint16: case value_type::uint32: case value_type::uint64:
      v.data = bits;
      break;
    case value_type::int8: v.data = std::int64_t{static_cast<std::int8_t>(bits)}; break;
    case value_type::int16: v.data = std::int64_t{static_cast<std::int16_t>(bits)}; break;
    case value_type::int32: v.data = std::int64_t{static_cast<std::int32_t>(bits)}; break;
    case value_type::int64: v.data = static_cast<std::int64_t>(bits); break;
    case value_type::float32: {
      const auto b32 = static_cast<std::uint32_t>(bits);
      float f;
      std::memcpy(&f, &b32, sizeof f);
      v.data = double{f};
      break;
    }
    case value_type::float64: {
      double d;
      std::memcpy(&d, &bits, sizeof d);
      v.data = d;
      break;
    }
    case value_type::boolean: v.data = bits != 0; break;
    case value_type::string: case value_type::array: break;
  }
  return v;
}

inline value array::operator[](std::size_t i) const {
  if (i >= count_) ::qmath::detail::precondition_failed("qmath::gguf::array", "index ", i, " out of range (size ", count_, ")");
  if (element_type_ == value_type::string) {
    value v;
    v.type = value_type::string;
    v.data = strings_[i];
    return v;
  }
  if (element_type_ == value_type::array) return arrays_[i];
  return decode_scalar(element_type_, packed_.data() + i * element_size(element_type_));
}

inline value array::iterator::operator*() const { return (*a_)[i_]; }

// The reader's access to an array's storage.
struct detail_array_access {
  static array make(value_type element, std::size_t count, std::vector<std::byte> packed,
                    std::vector<std::string> strings, std::vector<value> arrays) {
    array a;
    a.element_type_ = element;
    a.count_ = count;
    a.packed_ = std::move(packed);
    a.strings_ = std::move(strings);
    a.arrays_ = std::move(arrays);
    return a;
  }
};

struct metadata_entry {
  std::string key;
  value val;
};

struct tensor_info {
  std::string name;
  std::uint32_t n_dims = 0;
  std::array<std::uint64_t, max_dims> dims{1, 1, 1, 1};  // ne[0] is the contiguous (row) dimension
  std::int32_t ggml_type = 0;
  format_info format{};        // the format-table record of ggml_type
  std::uint64_t offset = 0;       // relative to the data section, as stored
  std::uint64_t file_offset = 0;  // absolute position in the file
  std::uint64_t elements = 0;
  std::uint64_t bytes = 0;        // storage_bytes(format, elements)
};

// The values an estimator needs, read from `<general.architecture>.*` keys
// (gguf-py constants.py Keys.LLM / Keys.Attention). A key that is missing stays
// empty. Per-layer arrays (some models store head_count_kv or
// feed_forward_length per layer) give their maximum, the size every layer fits in.
struct architecture_info {
  std::string architecture;  // general.architecture
  std::string name;          // general.name
  std::optional<std::uint64_t> block_count;          // layers
  std::optional<std::uint64_t> context_length;       // trained context
  std::optional<std::uint64_t> embedding_length;     // hidden size
  std::optional<std::uint64_t> feed_forward_length;  // FFN inner size
  std::optional<std::uint64_t> head_count;
  std::optional<std::uint64_t> head_count_kv;        // absent: equal to head_count (no GQA)
  std::optional<std::uint64_t> key_length;           // head dim of K; absent: embedding_length / head_count
  std::optional<std::uint64_t> value_length;
  std::optional<std::uint64_t> vocab_size;           // <arch>.vocab_size, else tokenizer.ggml.tokens' length
  std::optional<std::uint64_t> expert_count;
  std::optional<std::uint64_t> expert_used_count;
  std::optional<std::uint64_t> sliding_window;
  std::optional<std::uint64_t> file_type;            // general.file_type (llama_ftype)
  std::optional<std::uint64_t> quantization_version; // general.quantization_version

  // Head dimension of K: key_length, else embedding_length / head_count (llama.cpp's default).
  std::optional<std::uint64_t> head_dim() const noexcept {
    if (key_length) return key_length;
    if (embedding_length && head_count && *head_count != 0) return *embedding_length / *head_count;
    return std::nullopt;
  }
  // KV heads: head_count_kv, else head_count (a model without GQA).
  std::optional<std::uint64_t> kv_heads() const noexcept { return head_count_kv ? head_count_kv : head_count; }
};

struct file {
  std::uint32_t version = 0;
  std::uint32_t alignment = default_alignment;
  std::uint64_t file_size = 0;
  std::uint64_t data_offset = 0;   // absolute offset of the tensor data section
  std::uint64_t tensor_bytes = 0;  // sum of every tensor's storage bytes
  std::uint64_t parameter_count = 0;  // sum of every tensor's elements
  std::vector<metadata_entry> metadata;  // in file order
  std::vector<tensor_info> tensors;      // in file order
  architecture_info model;

  const value* find(std::string_view key) const noexcept {
    for (const auto& e : metadata)
      if (e.key == key) return &e.val;
    return nullptr;
  }
  const tensor_info* find_tensor(std::string_view name) const noexcept {
    for (const auto& t : tensors)
      if (t.name == name) return &t;
    return nullptr;
  }
};

namespace detail {

// Thrown by the cursor when bytes that the file has were not given to the
// parser; read_file catches it and reads more. Not a qmath::error: it never
// escapes the public API.
struct need_more_bytes {
  std::uint64_t needed;
};

class cursor {
 public:
  cursor(std::span<const std::byte> bytes, std::uint64_t file_size) : bytes_(bytes), file_size_(file_size) {}

  std::uint64_t position() const noexcept { return position_; }
  // Bytes left in the whole file (not only in the part we were given).
  std::uint64_t remaining() const noexcept { return file_size_ - position_; }

  void require(std::uint64_t n, std::string_view what) {
    if (n > remaining())
      ::qmath::detail::precondition_failed("qmath::gguf::parse", "truncated file: at offset ", position_,
                                           " expected ", n, " bytes of ", what, ", the file has ", remaining(),
                                           " left");
#if !QMATH_NO_EXCEPTIONS
    if (position_ + n > bytes_.size()) throw need_more_bytes{position_ + n};
#endif
  }

  template <class UInt>
  UInt read_uint(std::string_view what) {
    require(sizeof(UInt), what);
    UInt v = 0;
    for (std::size_t i = 0; i < sizeof(UInt); ++i)
      v = static_cast<UInt>(v | static_cast<UInt>(static_cast<UInt>(bytes_[position_ + i]) << (8 * i)));
    position_ += sizeof(UInt);
    return v;
  }

  std::vector<std::byte> read_bytes(std::uint64_t n, std::string_view what) {
    require(n, what);
    const auto begin = bytes_.begin() + static_cast<std::ptrdiff_t>(position_);
    std::vector<std::byte> out(begin, begin + static_cast<std::ptrdiff_t>(n));
    position_ += n;
    return out;
  }

  std::string read_string(std::string_view what, std::uint64_t max_length) {
    const std::uint64_t at = position_;
    const auto length = read_uint<std::uint64_t>(what);
    if (length > remaining())
      ::qmath::detail::precondition_failed("qmath::gguf::parse", "at offset ", at, ": length ", length, " of ", what,
                                           " runs past the end of the file (", remaining(), " bytes left)");
    if (length > max_length)
      ::qmath::detail::precondition_failed("qmath::gguf::parse", "at offset ", at, ": ", what, " is ", length,
                                           " bytes long, the limit is ", max_length);
    require(length, what);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + position_), static_cast<std::size_t>(length));
    position_ += length;
    return s;
  }

 private:
  std::span<const std::byte> bytes_;
  std::uint64_t file_size_;
  std::uint64_t position_ = 0;
};

// The smallest encoding of one element of type t: bounds an array's count by
// the bytes left before we reserve anything for it.
constexpr std::uint64_t min_encoded_size(value_type t) noexcept {
  switch (t) {
    case value_type::uint8: case value_type::int8: case value_type::boolean: return 1;
    case value_type::uint16: case value_type::int16: return 2;
    case value_type::uint32: case value_type::int32: case value_type::float32: return 4;
    case value_type::uint64: case value_type::int64: case value_type::float64: return 8;
    case value_type::string: return 8;
    case value_type::array: return 12;
  }
  return 1;
}

constexpr bool valid_value_type(std::uint32_t t) noexcept { return t <= static_cast<std::uint32_t>(value_type::float64); }

inline value read_value(cursor& in, value_type type, unsigned depth) {
  value v;
  v.type = type;
  switch (type) {
    case value_type::uint8: v.data = std::uint64_t{in.read_uint<std::uint8_t>("a uint8 value")}; break;
    case value_type::uint16: v.data = std::uint64_t{in.read_uint<std::uint16_t>("a uint16 value")}; break;
    case value_type::uint32: v.data = std::uint64_t{in.read_uint<std::uint32_t>("a uint32 value")}; break;
    case value_type::uint64: v.data = in.read_uint<std::uint64_t>("a uint64 value"); break;
    case value_type::int8:
      v.data = std::int64_t{static_cast<std::int8_t>(in.read_uint<std::uint8_t>("an int8 value"))};
      break;
    case value_type::int16:
      v.data = std::int64_t{static_cast<std::int16_t>(in.read_uint<std::uint16_t>("an int16 value"))};
      break;
    case value_type::int32:
      v.data = std::int64_t{static_cast<std::int32_t>(in.read_uint<std::uint32_t>("an int32 value"))};
      break;
    case value_type::int64: v.data = static_cast<std::int64_t>(in.read_uint<std::uint64_t>("an int64 value")); break;
    case value_type::float32: {
      const auto bits = in.read_uint<std::uint32_t>("a float32 value");
      float f;
      std::memcpy(&f, &bits, sizeof f);
      v.data = double{f};
      break;
    }
    case value_type::float64: {
      const auto bits = in.read_uint<std::uint64_t>("a float64 value");
      double d;
      std::memcpy(&d, &bits, sizeof d);
      v.data = d;
      break;
    }
    case value_type::boolean: {
      const std::uint64_t at = in.position();
      const auto b = in.read_uint<std::uint8_t>("a bool value");
      // docs/gguf.md: "1-byte value where 0 is false and 1 is true. Anything else is invalid".
      if (b > 1)
        ::qmath::detail::precondition_failed("qmath::gguf::parse", "at offset ", at, ": bool value ", unsigned{b},
                                             " is neither 0 nor 1");
      v.data = b == 1;
      break;
    }
    case value_type::string: v.data = in.read_string("a string value", std::numeric_limits<std::uint64_t>::max()); break;
    case value_type::array: {
      const std::uint64_t at = in.position();
      if (depth >= max_array_depth)
        ::qmath::detail::precondition_failed("qmath::gguf::parse", "at offset ", at, ": arrays nested deeper than ",
                                             max_array_depth, " levels");
      const auto element = in.read_uint<std::uint32_t>("an array element type");
      if (!valid_value_type(element))
        ::qmath::detail::precondition_failed("qmath::gguf::parse", "at offset ", at, ": unknown array element type ",
                                             element, " (expected 0..12)");
      const auto count_at = in.position();
      const auto count = in.read_uint<std::uint64_t>("an array length");
      const auto element_type = static_cast<value_type>(element);
      if (count > in.remaining() / min_encoded_size(element_type))
        ::qmath::detail::precondition_failed("qmath::gguf::parse", "at offset ", count_at, ": array of ", count, " ",
                                             to_string(element_type), " elements cannot fit in the ", in.remaining(),
                                             " bytes left");
      const auto n = static_cast<std::size_t>(count);
      std::vector<std::byte> packed;
      std::vector<std::string> strings;
      std::vector<value> arrays;
      if (const std::size_t size = element_size(element_type); size != 0) {
        // Scalars: one bounded copy of the stored bytes (count * size <= bytes left).
        packed = in.read_bytes(count * size, "array elements");
        if (element_type == value_type::boolean)
          for (std::size_t i = 0; i < n; ++i)
            if (static_cast<unsigned>(packed[i]) > 1)
              ::qmath::detail::precondition_failed("qmath::gguf::parse", "at offset ", count_at + 8 + i,
                                                   ": bool array element ", static_cast<unsigned>(packed[i]),
                                                   " is neither 0 nor 1");
      } else if (element_type == value_type::string) {
        strings.reserve(n);
        for (std::size_t i = 0; i < n; ++i)
          strings.push_back(in.read_string("a string array element", std::numeric_limits<std::uint64_t>::max()));
      } else {
        arrays.reserve(n);
        for (std::size_t i = 0; i < n; ++i) arrays.push_back(read_value(in, element_type, depth + 1));
      }
      v.element_type = element_type;
      v.data = detail_array_access::make(element_type, n, std::move(packed), std::move(strings), std::move(arrays));
      break;
    }
  }
  return v;
}

inline std::optional<std::uint64_t> integer_or_max(const file& f, const std::string& key) {
  const value* v = f.find(key);
  if (v == nullptr) return std::nullopt;
  if (const auto* items = v->as_array()) {
    std::optional<std::uint64_t> largest;
    for (const auto& item : *items) {
      const auto u = item.as_uint();
      if (!u)
        ::qmath::detail::precondition_failed("qmath::gguf::parse", "metadata key ", key,
                                             " is an array whose elements are not non-negative integers");
      largest = largest ? std::max(*largest, *u) : *u;
    }
    return largest;
  }
  const auto u = v->as_uint();
  if (!u)
    ::qmath::detail::precondition_failed("qmath::gguf::parse", "metadata key ", key, " has type ", to_string(v->type),
                                         ", expected a non-negative integer");
  return u;
}

inline std::string string_or_empty(const file& f, std::string_view key) {
  const value* v = f.find(key);
  if (v == nullptr) return {};
  const auto* s = v->as_string();
  if (s == nullptr)
    ::qmath::detail::precondition_failed("qmath::gguf::parse", "metadata key ", key, " has type ", to_string(v->type),
                                         ", expected string");
  return *s;
}

inline architecture_info read_architecture(const file& f) {
  architecture_info a;
  a.architecture = string_or_empty(f, "general.architecture");
  a.name = string_or_empty(f, "general.name");
  a.file_type = integer_or_max(f, "general.file_type");
  a.quantization_version = integer_or_max(f, "general.quantization_version");
  if (a.architecture.empty()) return a;
  const std::string p = a.architecture + ".";
  a.block_count = integer_or_max(f, p + "block_count");
  a.context_length = integer_or_max(f, p + "context_length");
  a.embedding_length = integer_or_max(f, p + "embedding_length");
  a.feed_forward_length = integer_or_max(f, p + "feed_forward_length");
  a.head_count = integer_or_max(f, p + "attention.head_count");
  a.head_count_kv = integer_or_max(f, p + "attention.head_count_kv");
  a.key_length = integer_or_max(f, p + "attention.key_length");
  a.value_length = integer_or_max(f, p + "attention.value_length");
  a.sliding_window = integer_or_max(f, p + "attention.sliding_window");
  a.expert_count = integer_or_max(f, p + "expert_count");
  a.expert_used_count = integer_or_max(f, p + "expert_used_count");
  a.vocab_size = integer_or_max(f, p + "vocab_size");
  if (!a.vocab_size)
    if (const value* tokens = f.find("tokenizer.ggml.tokens"); tokens != nullptr && tokens->as_array() != nullptr)
      a.vocab_size = tokens->as_array()->size();
  return a;
}

inline std::uint64_t align_up(std::uint64_t offset, std::uint64_t alignment) noexcept {
  return offset + (alignment - offset % alignment) % alignment;
}

inline file parse(std::span<const std::byte> bytes, std::uint64_t file_size) {
  constexpr const char* api = "qmath::gguf::parse";
  cursor in(bytes, file_size);
  file f;
  f.file_size = file_size;

  // Header. The magic is the bytes "GGUF" (docs/gguf.md, gguf_header_t).
  in.require(4, "the magic \"GGUF\"");
  const auto magic = in.read_uint<std::uint32_t>("the magic");
  if (magic != 0x46554747u)
    ::qmath::detail::precondition_failed(api, "bad magic at offset 0: expected the bytes \"GGUF\" (0x46554747), found 0x",
                                         std::hex, magic, std::dec);
  f.version = in.read_uint<std::uint32_t>("the version");
  if (f.version == 0x02000000u || f.version == 0x03000000u)
    ::qmath::detail::precondition_failed(api, "at offset 4: version reads as ", f.version,
                                         ", a big-endian GGUF file, which is not supported");
  if (f.version == 1)
    ::qmath::detail::precondition_failed(api, "at offset 4: GGUF version 1 (32-bit counts) is not supported; "
                                              "expected version 2 or 3");
  if (f.version != 2 && f.version != 3)
    ::qmath::detail::precondition_failed(api, "at offset 4: unsupported GGUF version ", f.version,
                                         "; expected 2 or 3");
  const auto tensor_count = in.read_uint<std::uint64_t>("the tensor count");
  const auto kv_count = in.read_uint<std::uint64_t>("the metadata count");

  // A key-value pair takes at least 8 (key length) + 4 (type) + 1 bytes.
  if (kv_count > in.remaining() / 13)
    ::qmath::detail::precondition_failed(api, "at offset 16: ", kv_count, " metadata entries cannot fit in the ",
                                         in.remaining(), " bytes left");
  f.metadata.reserve(static_cast<std::size_t>(kv_count));
  for (std::uint64_t i = 0; i < kv_count; ++i) {
    const std::uint64_t at = in.position();
    std::string key = in.read_string("a metadata key", max_key_length);
    if (f.find(key) != nullptr)
      ::qmath::detail::precondition_failed(api, "at offset ", at, ": duplicate metadata key '", key, "'");
    const std::uint64_t type_at = in.position();
    const auto type = in.read_uint<std::uint32_t>("a metadata value type");
    if (!valid_value_type(type))
      ::qmath::detail::precondition_failed(api, "at offset ", type_at, ": unknown value type ", type, " of key '",
                                           key, "' (expected 0..12)");
    value v = read_value(in, static_cast<value_type>(type), 0);
    f.metadata.push_back({std::move(key), std::move(v)});
  }

  if (const value* a = f.find("general.alignment")) {
    // gguf-py writes it as uint32; ggml requires a power of two of at most 1 MiB.
    const auto u = a->as_uint();
    if (a->type != value_type::uint32 || !u || *u == 0 || (*u & (*u - 1)) != 0 || *u > max_alignment)
      ::qmath::detail::precondition_failed(api, "general.alignment must be a uint32 power of two up to ",
                                           max_alignment, ", got type ", to_string(a->type), u ? " value " : "",
                                           u ? std::to_string(*u) : "");
    f.alignment = static_cast<std::uint32_t>(*u);
  }

  // Tensor infos: at least 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset) bytes each.
  const std::uint64_t infos_at = in.position();
  if (tensor_count > in.remaining() / 24)
    ::qmath::detail::precondition_failed(api, "at offset ", infos_at, ": ", tensor_count,
                                         " tensor infos cannot fit in the ", in.remaining(), " bytes left");
  f.tensors.reserve(static_cast<std::size_t>(tensor_count));
  for (std::uint64_t i = 0; i < tensor_count; ++i) {
    tensor_info t;
    const std::uint64_t at = in.position();
    t.name = in.read_string("a tensor name", max_tensor_name_length);
    const std::uint64_t dims_at = in.position();
    t.n_dims = in.read_uint<std::uint32_t>("a dimension count");
    // No dimensions is a scalar: ggml's ne default to 1.
    if (t.n_dims > max_dims)
      ::qmath::detail::precondition_failed(api, "at offset ", dims_at, ": tensor '", t.name, "' has ", t.n_dims,
                                           " dimensions, expected at most ", max_dims);
    t.elements = 1;
    bool overflow = false;
    for (std::uint32_t d = 0; d < t.n_dims; ++d) {
      t.dims[d] = in.read_uint<std::uint64_t>("a dimension");
      // ggml keeps dimensions and element counts as int64_t.
      if (t.dims[d] > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) overflow = true;
      if (!overflow && t.dims[d] != 0 &&
          t.elements > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / t.dims[d])
        overflow = true;
      if (!overflow) t.elements *= t.dims[d];
    }
    if (overflow)
      ::qmath::detail::precondition_failed(api, "at offset ", dims_at, ": tensor '", t.name,
                                           "' has more elements than int64 can count");
    const std::uint64_t type_at = in.position();
    const auto type = in.read_uint<std::uint32_t>("a tensor type");
    const auto format = type <= static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max())
                            ? find_ggml_type(static_cast<std::int32_t>(type))
                            : std::nullopt;
    if (!format)
      ::qmath::detail::precondition_failed(api, "at offset ", type_at, ": tensor '", t.name, "' has unknown ggml type ",
                                           type);
    t.ggml_type = static_cast<std::int32_t>(type);
    t.format = *format;
    // ggml stores blocks along rows: ne[0] must be whole blocks (ggml gguf.cpp checks the same).
    if (t.dims[0] % t.format.block_elems != 0)
      ::qmath::detail::precondition_failed(api, "at offset ", dims_at, ": tensor '", t.name, "' of type ",
                                           t.format.name, " has a row of ", t.dims[0],
                                           " elements, not a multiple of its block size ", t.format.block_elems);
    const std::uint64_t offset_at = in.position();
    t.offset = in.read_uint<std::uint64_t>("a tensor offset");
    if (t.offset % f.alignment != 0)
      ::qmath::detail::precondition_failed(api, "at offset ", offset_at, ": tensor '", t.name, "' data offset ",
                                           t.offset, " is not a multiple of the alignment ", f.alignment);
    // Every format stores at least one bit per element, so a count above 8 bits a
    // byte of the file cannot be real; this also keeps storage_bytes from overflowing.
    if (t.elements / 8 > file_size)
      ::qmath::detail::precondition_failed(api, "at offset ", dims_at, ": tensor '", t.name, "' has ", t.elements,
                                           " elements, more than a ", file_size, "-byte file can hold");
    t.bytes = storage_bytes(t.format, t.elements);
    for (const auto& other : f.tensors)
      if (other.name == t.name)
        ::qmath::detail::precondition_failed(api, "at offset ", at, ": duplicate tensor name '", t.name, "'");
    f.tensors.push_back(std::move(t));
  }

  f.data_offset = align_up(in.position(), f.alignment);
  for (auto& t : f.tensors) {
    if (t.offset > file_size || f.data_offset > file_size - t.offset || t.bytes > file_size - f.data_offset - t.offset)
      ::qmath::detail::precondition_failed(api, "tensor '", t.name, "' data [", f.data_offset, " + ", t.offset, ", +",
                                           t.bytes, " bytes) lies past the end of the ", file_size, "-byte file");
    t.file_offset = f.data_offset + t.offset;
    f.tensor_bytes += t.bytes;
    f.parameter_count += t.elements;
  }
  // Tensors must not share bytes.
  std::vector<std::pair<std::uint64_t, std::size_t>> by_offset;
  by_offset.reserve(f.tensors.size());
  for (std::size_t i = 0; i < f.tensors.size(); ++i) by_offset.emplace_back(f.tensors[i].offset, i);
  std::sort(by_offset.begin(), by_offset.end());
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    const auto& previous = f.tensors[by_offset[i - 1].second];
    const auto& current = f.tensors[by_offset[i].second];
    if (previous.offset + previous.bytes > current.offset)
      ::qmath::detail::precondition_failed(api, "tensors '", previous.name, "' and '", current.name,
                                           "' overlap in the data section (offsets ", previous.offset, " and ",
                                           current.offset, ")");
  }
  f.model = read_architecture(f);
  return f;
}

}  // namespace detail

// Parses a whole GGUF file held in memory.
inline file parse(std::span<const std::byte> bytes) {
#if QMATH_NO_EXCEPTIONS
  return detail::parse(bytes, bytes.size());
#else
  try {
    return detail::parse(bytes, bytes.size());
  } catch (const detail::need_more_bytes&) {
    // Unreachable: with the whole file given, the cursor reports truncation itself.
    ::qmath::detail::precondition_failed("qmath::gguf::parse", "internal error: read past the buffer");
  }
#endif
}

// Parses the header, metadata and tensor infos of a GGUF file on disk, reading
// only as much of it as they take (a model's tensor data is not read).
inline file read_file(const std::filesystem::path& path) {
  constexpr const char* api = "qmath::gguf::read_file";
  std::ifstream in(path, std::ios::binary);
  if (!in) ::qmath::detail::precondition_failed(api, "cannot open ", path.string());
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) ::qmath::detail::precondition_failed(api, "cannot stat ", path.string(), ": ", ec.message());
  std::vector<std::byte> head;
  std::uint64_t wanted = std::min<std::uint64_t>(size, std::uint64_t{1} << 20);
  for (;;) {
    const std::size_t have = head.size();
    head.resize(static_cast<std::size_t>(wanted));
    in.read(reinterpret_cast<char*>(head.data() + have), static_cast<std::streamsize>(wanted - have));
    if (static_cast<std::uint64_t>(in.gcount()) != wanted - have)
      ::qmath::detail::precondition_failed(api, "short read from ", path.string());
#if QMATH_NO_EXCEPTIONS
    if (wanted < size) {
      wanted = size;  // without exceptions we cannot resume: read it all
      continue;
    }
    return detail::parse(head, size);
#else
    try {
      return detail::parse(head, size);
    } catch (const detail::need_more_bytes& more) {
      wanted = std::min(size, std::max(more.needed, 2 * wanted));
    }
#endif
  }
}

}  // namespace qmath::gguf
