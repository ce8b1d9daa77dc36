#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>

#include "tool.hpp"

namespace {

std::vector<char> read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(std::string("cannot open ") + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const char* path, const void* data, std::size_t bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  if (!out) throw std::runtime_error(std::string("cannot write ") + path);
}

int usage() {
  std::cerr << "usage: qmath_tool quantize FORMAT in.f32 out.bin\n"
               "       qmath_tool dequantize FORMAT in.bin N out.f32\n"
               "       qmath_tool list\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2) return usage();
  const std::string command = argv[1];
  if (command == "list") {
    for (const auto& [name, e] : qmath_tool::registry()) std::cout << name << '\n';
    return 0;
  }
  if (argc < 5) return usage();
  const auto found = qmath_tool::registry().find(argv[2]);
  if (found == qmath_tool::registry().end()) {
    std::cerr << "unknown format " << argv[2] << '\n';
    return 2;
  }
  if (command == "quantize") {
    const auto raw = read_file(argv[3]);
    std::vector<float> values(raw.size() / sizeof(float));
    std::memcpy(values.data(), raw.data(), values.size() * sizeof(float));
    const auto bytes = found->second.quantize(values);
    write_file(argv[4], bytes.data(), bytes.size());
    return 0;
  }
  if (command == "dequantize" && argc >= 6) {
    const auto raw = read_file(argv[3]);
    const std::size_t n = std::strtoull(argv[4], nullptr, 10);
    const auto values = found->second.dequantize(std::as_bytes(std::span(raw)), n);
    write_file(argv[5], values.data(), values.size() * sizeof(float));
    return 0;
  }
  return usage();
} catch (const std::exception& e) {
  std::cerr << "qmath_tool: " << e.what() << '\n';
  return 1;
}
