// The one consumer program that every packaging test builds (CMake install,
// add_subdirectory, FetchContent, meson, pkg-config, Conan, vcpkg layout).
// It proves that the package gives a consumer the headers, C++20, xsimd and
// the right version; keep API calls here only, so an API change is one edit.
//
// The build system that compiled this file passes what it was told the
// package version is as QMATH_CONSUMER_EXPECTED_VERSION ("0.1.0"); it must
// match include/qmath/version.hpp, the one source of the version.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <vector>

#include <qmath/formats/table.hpp>
#include <qmath/kernels/arch.hpp>  // pulls in xsimd unless QMATH_DISABLE_SIMD: the dependency must come along
#include <qmath/version.hpp>

// The array API: the umbrella once it exists, the Q8_0 kernel header until then.
#if __has_include(<qmath/quant.hpp>)
#include <qmath/quant.hpp>
#define QMATH_CONSUMER_HAS_QUANT 1
#elif __has_include(<qmath/kernels/q8_0.hpp>)
#include <qmath/kernels/q8_0.hpp>
#define QMATH_CONSUMER_HAS_QUANT 1
#else
#define QMATH_CONSUMER_HAS_QUANT 0
#endif

// The planning API.
#if __has_include(<qmath/memory.hpp>) && __has_include(<qmath/devices.hpp>) && __has_include(<qmath/models.hpp>)
#include <qmath/devices.hpp>
#include <qmath/memory.hpp>
#include <qmath/models.hpp>
#define QMATH_CONSUMER_HAS_PLAN 1
#else
#define QMATH_CONSUMER_HAS_PLAN 0
#endif

namespace {

constexpr std::string_view expected_version = QMATH_CONSUMER_EXPECTED_VERSION;

constexpr bool version_matches_header() {
  const std::array<int, 3> parts{QMATH_VERSION_MAJOR, QMATH_VERSION_MINOR, QMATH_VERSION_PATCH};
  std::size_t pos = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    int value = 0;
    bool digits = false;
    for (; pos < expected_version.size() && expected_version[pos] >= '0' && expected_version[pos] <= '9'; ++pos) {
      value = value * 10 + (expected_version[pos] - '0');
      digits = true;
    }
    if (!digits || value != parts[i]) return false;
    if (i + 1 < parts.size()) {
      if (pos >= expected_version.size() || expected_version[pos] != '.') return false;
      ++pos;
    }
  }
  return pos == expected_version.size();
}
static_assert(version_matches_header(), "the package's version differs from include/qmath/version.hpp");

// A VRAM budget checked at compile time.
#if QMATH_CONSUMER_HAS_PLAN
// Llama 3 8B in Q4_K_M with an 8k context under llama.cpp fits a 12 GB RTX 3060.
constexpr qmath::plan llama_8b_q4_k_m{.model = qmath::models::llama_3_8b,
                                      .weights = qmath::weight_recipe::gguf(qmath::gguf_ftype::q4_k_m),
                                      .context = 8192,
                                      .runtime = qmath::runtimes::llama_cpp};
static_assert(qmath::fits(llama_8b_q4_k_m, qmath::devices::rtx_3060_12gb));
#else
// The weights alone: 8 billion parameters in Q8_0 fit 12 GiB.
static_assert(qmath::storage_bytes(qmath::info(qmath::format_id::q8_0), 8'000'000'000ull) <= (12ull << 30),
              "8B parameters in Q8_0 must fit 12 GiB");
#endif

}  // namespace

int main() {
  std::printf("qmath %d.%d.%d, kernels for %s, VRAM check by %s\n", QMATH_VERSION_MAJOR, QMATH_VERSION_MINOR,
              QMATH_VERSION_PATCH, qmath::default_arch_name(), QMATH_CONSUMER_HAS_PLAN ? "qmath::fits" : "storage_bytes");
#if QMATH_CONSUMER_HAS_QUANT
  // Quantize a buffer with the public array API and read it back.
  std::vector<float> weights(256);
  for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<float>(i % 17) - 8.0f;
  std::vector<std::byte> packed(qmath::storage_bytes<qmath::formats::q8_0>(weights.size()));
  qmath::quantize<qmath::formats::q8_0>(weights, packed);
  std::vector<float> restored(weights.size());
  qmath::dequantize<qmath::formats::q8_0>(packed, restored);
  for (std::size_t i = 0; i < weights.size(); ++i) {
    // Each block's largest magnitude is 8, so the step is 8/127: error at most half a step
    // plus the fp16 rounding of the scale.
    const float error = restored[i] - weights[i];
    if (error > 0.05f || error < -0.05f) {
      std::printf("FAIL: element %zu quantized to %g, expected %g\n", i, static_cast<double>(restored[i]),
                  static_cast<double>(weights[i]));
      return 1;
    }
  }
  std::printf("quantized %zu floats to %zu bytes of q8_0\n", weights.size(), packed.size());
#else
  std::printf("no quantize API in this qmath: quantize call skipped\n");
#endif
  std::printf("OK\n");
  return 0;
}
