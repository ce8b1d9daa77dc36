// libFuzzer target: the safetensors header reader on arbitrary bytes (the
// 8-byte length, the JSON header, the layout checks). Anything but a result
// or a qmath::error is a finding.
#include <qmath/io/safetensors.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto h = qmath::io::safetensors::parse(std::string_view(reinterpret_cast<const char*>(data), size));
    std::vector<qmath::io::stored_tensor> tensors;
    for (const auto& t : h.tensors) tensors.push_back(qmath::io::to_stored_tensor(t));
    static_cast<void>(qmath::io::stored_weight_bytes(tensors).total());
  } catch (const qmath::error&) {
  }
  try {
    static_cast<void>(qmath::io::safetensors::parse_index(std::string_view(reinterpret_cast<const char*>(data), size)));
  } catch (const qmath::error&) {
  }
  return 0;
}
