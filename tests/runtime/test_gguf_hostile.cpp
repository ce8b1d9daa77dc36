// Hostile GGUF metadata: a valid 64 MiB file whose one key is an array of
// 64 Mi uint8 must cost about its own size in memory (arrays of scalars stay
// packed), and decode element by element to the stored values; arrays of
// every scalar type decode as stored; bool arrays hold only 0 and 1.
#include <qmath/io/gguf.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "catch.hpp"
#include "gguf_test_writer.hpp"

namespace {

// A header with `kvs` metadata entries and no tensors, then what a test adds.
struct bytes_builder : qmath_test::gguf_bytes {
  void header(std::uint64_t kvs) { gguf_bytes::header(0, kvs); }
};

std::uint64_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<std::uint64_t>(u.ru_maxrss) * 1024;  // Linux reports KiB
}

}  // namespace

TEST_CASE("an array of 64 Mi uint8 stays packed: memory near the file size") {
  constexpr std::uint64_t count = std::uint64_t{64} << 20;
  const std::uint64_t before = peak_rss_bytes();
  bytes_builder f;
  f.bytes.reserve(count + 64);
  f.header(1);
  f.str("big");
  f.u32(9);  // array
  f.u32(0);  // of uint8
  f.u64(count);
  for (std::uint64_t i = 0; i < count; ++i) f.u8(static_cast<std::uint8_t>(i * 7));
  const auto start = std::chrono::steady_clock::now();
  const auto parsed = qmath::gguf::parse(f.bytes);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::uint64_t growth = peak_rss_bytes() - before;
  INFO("parse took " << seconds << " s; peak RSS grew by " << growth / (1 << 20) << " MiB");
  const auto* big = parsed.find("big");
  REQUIRE(big != nullptr);
  const auto* a = big->as_array();
  REQUIRE(a != nullptr);
  CHECK(a->size() == count);
  CHECK(a->packed().size() == count);
  CHECK(*(*a)[0].as_uint() == 0);
  CHECK(*(*a)[count - 1].as_uint() == ((count - 1) * 7) % 256);
  // The file (64 MiB) and its packed copy (64 MiB), with room for allocator
  // slack; decoded to 48-byte values it was 3 GiB.
  CHECK(growth < std::uint64_t{256} << 20);
}

TEST_CASE("arrays of every scalar type decode as stored") {
  bytes_builder f;
  f.header(6);
  f.str("u16");
  f.u32(9);
  f.u32(2);
  f.u64(2);
  f.u8(0x34);
  f.u8(0x12);
  f.u8(0xff);
  f.u8(0xff);
  f.str("i32");
  f.u32(9);
  f.u32(5);
  f.u64(2);
  f.u32(static_cast<std::uint32_t>(-7));
  f.u32(2147483647u);
  f.str("f32");
  f.u32(9);
  f.u32(6);
  f.u64(1);
  std::uint32_t bits = 0;
  const float value = -1.5f;
  std::memcpy(&bits, &value, 4);
  f.u32(bits);
  f.str("i64");
  f.u32(9);
  f.u32(11);
  f.u64(1);
  f.u64(static_cast<std::uint64_t>(-9));
  f.str("bools");
  f.u32(9);
  f.u32(7);
  f.u64(3);
  f.u8(1);
  f.u8(0);
  f.u8(1);
  f.str("strings");
  f.u32(9);
  f.u32(8);
  f.u64(2);
  f.str("ab");
  f.str("");
  const auto p = qmath::gguf::parse(f.bytes);
  const auto& u16 = *p.find("u16")->as_array();
  CHECK(*u16[0].as_uint() == 0x1234);
  CHECK(*u16[1].as_uint() == 0xffff);
  CHECK(u16[1].type == qmath::gguf::value_type::uint16);
  const auto& i32 = *p.find("i32")->as_array();
  CHECK(*i32[0].as_int() == -7);
  CHECK(*i32[1].as_int() == 2147483647);
  CHECK(*(*p.find("f32")->as_array())[0].as_float() == -1.5);
  CHECK(*(*p.find("i64")->as_array())[0].as_int() == -9);
  const auto& bools = *p.find("bools")->as_array();
  std::vector<bool> seen;
  for (const auto& b : bools) seen.push_back(*b.as_bool());
  CHECK(seen == std::vector<bool>{true, false, true});
  const auto& strings = *p.find("strings")->as_array();
  CHECK(*strings[0].as_string() == "ab");
  CHECK(strings[1].as_string()->empty());
  CHECK(strings.strings().size() == 2);
  CHECK_THROWS_AS(strings[2], qmath::error);
}

TEST_CASE("a bool array element other than 0 or 1 is rejected") {
  bytes_builder f;
  f.header(1);
  f.str("bools");
  f.u32(9);
  f.u32(7);
  f.u64(3);
  f.u8(1);
  f.u8(2);
  f.u8(0);
  CHECK_THROWS_WITH(qmath::gguf::parse(f.bytes), Catch::Contains("bool array element 2 is neither 0 nor 1"));
}

TEST_CASE("oversized counts are rejected before anything is allocated") {
  using Catch::Contains;
  for (const std::uint32_t element : {0u, 4u, 8u, 9u, 10u}) {
    INFO("element type " << element);
    bytes_builder f;
    f.header(1);
    f.str("a");
    f.u32(9);
    f.u32(element);
    f.u64(std::uint64_t{1} << 62);
    f.u64(0);
    CHECK_THROWS_WITH(qmath::gguf::parse(f.bytes), Contains("cannot fit in the"));
  }
  bytes_builder kv;
  kv.header(std::uint64_t{1} << 60);
  CHECK_THROWS_WITH(qmath::gguf::parse(kv.bytes), Contains("metadata entries cannot fit"));
  bytes_builder t;
  t.u32(0x46554747u);
  t.u32(3);
  t.u64(~std::uint64_t{0});
  t.u64(0);
  CHECK_THROWS_WITH(qmath::gguf::parse(t.bytes), Contains("tensor infos cannot fit"));
}
