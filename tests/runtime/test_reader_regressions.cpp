// Inputs the fuzz targets found (fuzz/regressions/fuzz_<reader>/), replayed
// through the same calls as the targets: each must end in a result or one
// qmath::error, quickly (the first was a GGUF whose block_count made the
// parameter walk take minutes; the readers now bound what is plausible).
#include <qmath/estimate/weights.hpp>
#include <qmath/io/gguf_model.hpp>
#include <qmath/io/hf_config.hpp>
#include <qmath/io/safetensors.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "catch.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path regressions = fs::path(QMATH_TEST_DATA_DIR) / ".." / ".." / "fuzz" / "regressions";

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs `f` on every file of the target's folder; returns how many there were.
template <class F>
std::size_t replay(const char* target, F&& f) {
  const fs::path dir = regressions / target;
  std::size_t n = 0;
  if (!fs::is_directory(dir)) return 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    INFO(entry.path().string());
    const std::string bytes = read_all(entry.path());
    const auto start = std::chrono::steady_clock::now();
    try {
      f(bytes);
    } catch (const qmath::error& e) {
      CHECK(std::string(e.what()).find('\n') == std::string::npos);
    }
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("GGUF reproducers end in a result or a qmath::error") {
  const auto n = replay("fuzz_gguf", [](const std::string& bytes) {
    const auto f = qmath::gguf::parse(std::as_bytes(std::span(bytes.data(), bytes.size())));
    static_cast<void>(qmath::io::stored_weight_bytes(qmath::io::gguf_stored_tensors(f)).total());
    static_cast<void>(qmath::io::gguf_architecture(f).parameters());
  });
  CHECK(n >= 1);
}

#if defined(QMATH_HAS_SAFETENSORS)
TEST_CASE("safetensors and config.json reproducers end in a result or a qmath::error") {
  replay("fuzz_safetensors", [](const std::string& bytes) {
    const auto h = qmath::io::safetensors::parse(bytes);
    for (const auto& t : h.tensors) static_cast<void>(qmath::io::to_stored_tensor(t));
  });
  replay("fuzz_hf_config", [](const std::string& bytes) {
    const auto a = qmath::io::parse_hf_config(bytes);
    static_cast<void>(qmath::weight_bytes(a).total());
  });
}
#endif
