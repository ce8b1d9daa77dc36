#pragma once
// A small command-line bridge so that Python tests can feed qmath the same
// data they feed an independent implementation:
//   qmath_tool quantize   FORMAT in.f32 out.bin
//   qmath_tool dequantize FORMAT in.bin  n_elements out.f32
//   qmath_tool list
// Each tool_<area>.cpp registers its formats with QMATH_TOOL_REGISTER.

#include <cstddef>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <qmath/kernels/quantize.hpp>

namespace qmath_tool {

struct entry {
  std::function<std::vector<std::byte>(std::span<const float>)> quantize;
  std::function<std::vector<float>(std::span<const std::byte>, std::size_t n)> dequantize;
};

inline std::map<std::string, entry>& registry() {
  static std::map<std::string, entry> formats;
  return formats;
}

inline bool add(const std::string& name, entry e) {
  registry().emplace(name, std::move(e));
  return true;
}

// The entry of a block format: qmath::quantize / dequantize<F, Arch> on
// buffers of exactly storage_bytes<F>(n).
template <class F, class Arch>
entry kernel_entry() {
  return {[](std::span<const float> in) {
            std::vector<std::byte> out(qmath::storage_bytes<F>(in.size()));
            qmath::quantize<F, Arch>(in, out);
            return out;
          },
          [](std::span<const std::byte> in, std::size_t n) {
            std::vector<float> out(n);
            qmath::dequantize<F, Arch>(in, out);
            return out;
          }};
}

}  // namespace qmath_tool

#define QMATH_TOOL_CONCAT2(a, b) a##b
#define QMATH_TOOL_CONCAT(a, b) QMATH_TOOL_CONCAT2(a, b)
#define QMATH_TOOL_REGISTER(name, ...) \
  static const bool QMATH_TOOL_CONCAT(qmath_tool_registered_, __LINE__) = ::qmath_tool::add(name, __VA_ARGS__)
