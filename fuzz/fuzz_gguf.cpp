// libFuzzer target: the GGUF reader and the GGUF-to-model conversion on
// arbitrary bytes. Anything but a result or a qmath::error is a finding
// (a crash, a sanitizer report, another exception, a leak or a huge allocation).
#include <qmath/io/gguf.hpp>
#include <qmath/io/gguf_model.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  try {
    const qmath::gguf::file f = qmath::gguf::parse(bytes);
    // Decode every array element, as a user iterating the metadata would.
    std::uint64_t sink = 0;
    for (const auto& entry : f.metadata)
      if (const auto* a = entry.val.as_array())
        for (const auto& v : *a) sink += v.as_uint().value_or(1);
    static_cast<void>(sink);
    const auto tensors = qmath::io::gguf_stored_tensors(f);
    static_cast<void>(qmath::io::stored_weight_bytes(tensors).total());
    const auto arch = qmath::io::gguf_architecture(f);
    static_cast<void>(arch.parameters());
  } catch (const qmath::error&) {
  }
  return 0;
}
