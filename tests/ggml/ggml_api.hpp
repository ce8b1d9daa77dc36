#pragma once
// The few entry points of the real ggml (libggml-base.so) that qmath's tests
// and benches compare against, loaded at run time with dlopen. Nothing of
// ggml is compiled in: the declarations follow ggml's public header
// (ggml/include/ggml.h: enum ggml_type, ggml_to_float_t, ggml_from_float_t,
// struct ggml_type_traits, ggml_quantize_chunk) and are checked against the
// loaded library (ggml_type_size / ggml_blck_size / ggml_type_name must agree
// with the traits record) before use.

#include <dlfcn.h>

#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <memory>
#include <string>

namespace qmath_test::ggml {

using to_float_fn = void (*)(const void* x, float* y, std::int64_t k);
using from_float_fn = void (*)(const float* x, void* y, std::int64_t k);

// struct ggml_type_traits (ggml.h)
struct type_traits {
  const char* type_name;
  std::int64_t blck_size;
  std::int64_t blck_size_interleave;
  std::size_t type_size;
  bool is_quantized;
  to_float_fn to_float;
  from_float_fn from_float_ref;
};

struct library {
  void* handle = nullptr;
  const type_traits* (*get_type_traits)(int) = nullptr;
  std::size_t (*type_size)(int) = nullptr;
  std::int64_t (*blck_size)(int) = nullptr;
  const char* (*type_name)(int) = nullptr;
  std::size_t (*quantize_chunk)(int, const float*, void*, std::int64_t, std::int64_t, std::int64_t,
                                const float*) = nullptr;
  void (*quantize_init)(int) = nullptr;
  std::string path;

  // A named function of the library (quantize_row_q4_K_ref, ...), or null.
  template <class Fn>
  Fn symbol(const char* name) const {
    // POSIX: the object pointer dlsym returns converts to a function pointer.
    return reinterpret_cast<Fn>(dlsym(handle, name));
  }
};

// Loads DIR/libggml-base.so, or returns null with the reason in `why`.
inline std::unique_ptr<library> load(const std::string& dir, std::string& why) {
  auto lib = std::make_unique<library>();
  lib->path = dir + "/libggml-base.so";
  lib->handle = dlopen(lib->path.c_str(), RTLD_NOW | RTLD_LOCAL);  // kept open until exit
  if (lib->handle == nullptr) {
    why = "cannot load " + lib->path + ": " + dlerror();
    return nullptr;
  }
  lib->get_type_traits = lib->symbol<decltype(lib->get_type_traits)>("ggml_get_type_traits");
  lib->type_size = lib->symbol<decltype(lib->type_size)>("ggml_type_size");
  lib->blck_size = lib->symbol<decltype(lib->blck_size)>("ggml_blck_size");
  lib->type_name = lib->symbol<decltype(lib->type_name)>("ggml_type_name");
  lib->quantize_chunk = lib->symbol<decltype(lib->quantize_chunk)>("ggml_quantize_chunk");
  lib->quantize_init = lib->symbol<decltype(lib->quantize_init)>("ggml_quantize_init");
  if (!lib->get_type_traits || !lib->type_size || !lib->blck_size || !lib->type_name || !lib->quantize_chunk) {
    why = lib->path + " lacks ggml_get_type_traits, ggml_type_size, ggml_blck_size, ggml_type_name or ggml_quantize_chunk";
    return nullptr;
  }
  return lib;
}

// ctest's SKIP_RETURN_CODE for the programs that compare against ggml.
inline constexpr int skip_code = 77;

// A comparison program's start: loads the library in the directory argv[1]
// and says which library and which qmath kernels (`kernels`) are compared.
// Without it, prints the usage (exit code 2) or why the run is skipped
// (skip_code), sets `exit_code` and returns null.
inline std::unique_ptr<library> load_for_main(int argc, char** argv, const char* kernels, int& exit_code) {
  if (argc < 2) {
    std::printf("usage: %s DIR_WITH_LIBGGML_BASE\n", argv[0]);
    exit_code = 2;
    return nullptr;
  }
  std::string why;
  auto lib = load(argv[1], why);
  if (!lib) {
    std::printf("SKIPPED: ggml is not available (%s)\n", why.c_str());
    exit_code = skip_code;
    return nullptr;
  }
  std::printf("ggml: %s; qmath kernels: %s\n", lib->path.c_str(), kernels);
  return lib;
}

}  // namespace qmath_test::ggml
