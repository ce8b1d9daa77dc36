// The format table: storage arithmetic and lookups.
#include <qmath/formats/table.hpp>

#include "catch.hpp"

using namespace qmath;

TEST_CASE("storage_bytes counts whole blocks, second-level scales and tensor constants") {
  CHECK(storage_bytes(info(format_id::q8_0), 4096) == 4096 / 32 * 34);
  CHECK(storage_bytes(info(format_id::q4_k), 4096) == 4096 / 256 * 144);
  CHECK(storage_bytes(info(format_id::f16), 3) == 6);
  // NF4, blocksize 64: 32 bytes of codes and a 4-byte absmax per block, plus the 16-entry code table.
  CHECK(storage_bytes(info(format_id::bnb_nf4), 64 * 1000) == 1000 * 36 + 64);
  // Double quantization: 1-byte absmax code per block, one fp32 per 256 blocks (rounded up),
  // the fp32 offset and the 256-entry second code table.
  CHECK(storage_bytes(bnb_4bit_info(format_id::bnb_nf4, 64, true), 64 * 1000) ==
        1000 * 33 + 4 * 4 + 64 + 1024 + 4);
  CHECK(storage_bytes(info(format_id::q8_0), 0) == 0);
}

TEST_CASE("storage_bytes rejects a partial block with a message naming the format") {
  CHECK_THROWS_AS(storage_bytes(info(format_id::q8_0), 33), qmath::error);
  CHECK_THROWS_WITH(storage_bytes(info(format_id::q4_k), 300),
                    Catch::Contains("300 elements of q4_k are not a whole number of 256-element blocks"));
}

TEST_CASE("bits per weight of the common formats") {
  CHECK(info(format_id::q8_0).bits_per_weight() == 8.5);
  CHECK(info(format_id::q4_0).bits_per_weight() == 4.5);
  CHECK(info(format_id::q2_k).bits_per_weight() == 2.625);
  CHECK(info(format_id::tq1_0).bits_per_weight() == 1.6875);
  CHECK(info(format_id::bnb_nf4).bits_per_weight() == 4.5);
  CHECK(bnb_4bit_info(format_id::bnb_nf4, 64, true).bits_per_weight() == Approx(4.0 + 8.0 / 64 + 32.0 / (64 * 256)));
  CHECK(info(format_id::gptq_int4).bits_per_weight() == Approx(4.0 + 20.0 / 128));
}

TEST_CASE("lookups by name and by GGUF type id") {
  for (const auto& f : format_table) {
    REQUIRE(find_format(f.name).has_value());
    CHECK(find_format(f.name)->id == f.id);
    if (f.ggml_type >= 0) CHECK(find_ggml_type(f.ggml_type)->id == f.id);
  }
  CHECK_FALSE(find_format("q4_2").has_value());
  CHECK_FALSE(find_ggml_type(4).has_value());  // Q4_2 was removed from GGUF
  CHECK_THROWS_AS(bnb_4bit_info(format_id::bnb_nf4, 48), qmath::error);
  CHECK_THROWS_AS(group_int4_info(format_id::gptq_int4, 96), qmath::error);
}
