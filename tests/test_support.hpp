#pragma once
// Helpers the reader tests share: files they write, and the message of the
// qmath::error a call throws.
#include <qmath/error.hpp>

#include <filesystem>
#include <fstream>
#include <string>

namespace qmath_test {

inline void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

// The message of the qmath::error `f` throws, or "(no error)".
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const qmath::error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace qmath_test
