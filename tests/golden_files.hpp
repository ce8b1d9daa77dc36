#pragma once
// Golden files a peer library wrote (tests/data/<peer>/, with the script that
// wrote them): raw little-endian arrays and a cases.txt of `key=value` lines,
// one case a line. The live tests point the environment variable at a fresh
// run of the script, so the same checks read either.

#include <cstddef>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"

namespace qmath_test {

using golden_case = std::map<std::string, std::string>;

// A case's integer field (decimal, or hex with 0x).
inline std::size_t number(const golden_case& c, const char* key) { return std::stoull(c.at(key), nullptr, 0); }

class golden_files {
 public:
  // The folder: $env_var when set, else tests/data/<data_subdir>.
  golden_files(const char* env_var, const char* data_subdir) {
    if (const char* dir = std::getenv(env_var); dir && *dir)
      dir_ = dir;
    else
      dir_ = std::string(QMATH_TEST_DATA_DIR) + "/" + data_subdir;
  }

  const std::string& dir() const { return dir_; }

  // The file `name`, which must hold exactly `count` elements of T.
  template <class T>
  std::vector<T> array(const std::string& name, std::size_t count) const {
    const std::string path = dir_ + "/" + name;
    std::ifstream file(path, std::ios::binary);
    INFO(path);
    REQUIRE(file.good());
    std::vector<T> data(count);
    file.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(count * sizeof(T)));
    REQUIRE(static_cast<std::size_t>(file.gcount()) == count * sizeof(T));
    file.peek();
    REQUIRE(file.eof());
    return data;
  }

  // cases.txt, without its blank and '#' lines.
  std::vector<golden_case> cases() const {
    std::ifstream file(dir_ + "/cases.txt");
    INFO(dir_ + "/cases.txt");
    REQUIRE(file.good());
    std::vector<golden_case> all;
    for (std::string line; std::getline(file, line);) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream fields(line);
      golden_case c;
      for (std::string field; fields >> field;) {
        const auto eq = field.find('=');
        REQUIRE(eq != std::string::npos);
        c[field.substr(0, eq)] = field.substr(eq + 1);
      }
      all.push_back(std::move(c));
    }
    return all;
  }

 private:
  std::string dir_;
};

}  // namespace qmath_test
