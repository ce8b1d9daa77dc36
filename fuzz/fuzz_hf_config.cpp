// libFuzzer target: the config.json reader on arbitrary text, then the
// estimators' walk over the architecture it returns (bounded by the reader's
// plausibility limits). Anything but a result or a qmath::error is a finding.
#include <qmath/estimate/weights.hpp>
#include <qmath/io/hf_config.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto a = qmath::io::parse_hf_config(text);
    static_cast<void>(a.parameters());
    static_cast<void>(a.active_parameters());
    static_cast<void>(qmath::weight_bytes(a).total());
  } catch (const qmath::error&) {
  }
  try {
    static_cast<void>(qmath::io::hf_config_notes(qmath::io::detail::parse_json_text(text, "fuzz")));
  } catch (const qmath::error&) {
  }
  return 0;
}
