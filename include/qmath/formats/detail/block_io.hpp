#pragma once
// Private: constexpr reads and writes of a format's block struct in a byte
// span. The block structs mirror ggml's (src/ggml-common.h): fixed-width
// fields, no padding, little-endian as GGUF stores them (ggml docs/gguf.md:
// "GGUF files are little-endian by default"). std::bit_cast makes the copy
// usable in constant expressions; at run time it compiles to a plain memcpy.
// Include the format headers instead.

#include <array>
#include <bit>
#include <cstddef>
#include <span>
#include <type_traits>

namespace qmath::detail {

static_assert(std::endian::native == std::endian::little,
              "qmath's block structs are the little-endian GGUF bytes; a big-endian host needs byte swaps");

// A block struct that can be copied to and from bytes: trivially copyable and
// without padding (every bit of it is stored).
template <class Block>
concept byte_block = std::is_trivially_copyable_v<Block> && std::has_unique_object_representations_v<Block>;

// The `index`-th block of type Block in `bytes` (which the caller sized).
template <byte_block Block>
constexpr Block load_block(std::span<const std::byte> bytes, std::size_t index) noexcept {
  std::array<std::byte, sizeof(Block)> raw{};
  const std::size_t offset = index * sizeof(Block);
  for (std::size_t i = 0; i < sizeof(Block); ++i) raw[i] = bytes[offset + i];
  return std::bit_cast<Block>(raw);
}

// Writes `block` as the `index`-th block of `bytes`.
template <byte_block Block>
constexpr void store_block(const Block& block, std::span<std::byte> bytes, std::size_t index) noexcept {
  const auto raw = std::bit_cast<std::array<std::byte, sizeof(Block)>>(block);
  const std::size_t offset = index * sizeof(Block);
  for (std::size_t i = 0; i < sizeof(Block); ++i) bytes[offset + i] = raw[i];
}

}  // namespace qmath::detail
