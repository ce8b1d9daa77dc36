// The safetensors header reader and the sharded index: a checkpoint written
// here with transformers' names (data left as a hole) gives the exact bytes
// and parameters of the catalog model, one file or sharded; every malformed
// or hostile header is a qmath::error naming the problem.
#include <qmath/io/model_file.hpp>
#include <qmath/io/safetensors.hpp>
#include <qmath/models.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "catch.hpp"
#include "test_support.hpp"
#include "safetensors_test_writer.hpp"

#if defined(QMATH_HAS_SAFETENSORS)

namespace fs = std::filesystem;
using namespace qmath;
using namespace qmath::models;
namespace st = qmath::io::safetensors;

namespace {

using qmath_test::write_text;
using qmath_test::error_of;

const fs::path configs = fs::path(QMATH_TEST_DATA_DIR) / "hf_configs";

fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / "qmath_test_safetensors" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}



// The error parse_header_json gives for one tensor entry in a 16-byte buffer.
std::string entry_error(const std::string& entry, std::uint64_t data_bytes = 16) {
  return error_of([&] { st::parse_header_json("{\"t\":" + entry + "}", data_bytes); });
}

}  // namespace

TEST_CASE("a safetensors checkpoint gives the exact bytes and parameters") {
  const architecture& a = qwen2_5_0_5b;
  const auto tensors = qmath_test::hf_tensors_of(a, "BF16", 2);
  const fs::path dir = scratch_dir("qwen2.5-0.5b");
  fs::copy_file(configs / "qwen2_5_0_5b.json", dir / "config.json");
  qmath_test::write_safetensors(dir / "model.safetensors", tensors);

  for (const fs::path& p : {dir, dir / "model.safetensors"}) {
    INFO(p.string());
    const auto m = io::load_model(p);
    CHECK(m.format == io::model_format::safetensors);
    CHECK(m.path == dir / "model.safetensors");
    REQUIRE(m.weight_bytes.has_value());
    CHECK(*m.weight_bytes == qmath_test::st_data_bytes(tensors));
    CHECK(*m.weight_bytes == weight_bytes(a).total());  // the checkpoint recipe: bf16
    CHECK(*m.parameter_count == a.official_parameters);
    CHECK(m.notes.empty());
    REQUIRE(m.recipe.has_value());
    CHECK(m.recipe->matrices.id == format_id::bf16);
    // The per-class split from the module names is the estimator's.
    const auto expected = weight_bytes(a);
    for (std::size_t k = 0; k < tensor_class_count; ++k) CHECK(m.stored_weights->bytes[k] == expected.bytes[k]);
    REQUIRE(m.tensors.size() == tensors.size());
    CHECK(m.tensors[0].dtype == "BF16");
  }
}

TEST_CASE("a sharded checkpoint is read through its index") {
  const architecture& a = qwen2_5_0_5b;
  const auto tensors = qmath_test::hf_tensors_of(a, "BF16", 2);
  const fs::path dir = scratch_dir("sharded");
  fs::copy_file(configs / "qwen2_5_0_5b.json", dir / "config.json");
  const std::size_t half = tensors.size() / 2;
  const std::vector<qmath_test::st_tensor> first(tensors.begin(), tensors.begin() + static_cast<long>(half));
  const std::vector<qmath_test::st_tensor> second(tensors.begin() + static_cast<long>(half), tensors.end());
  qmath_test::write_safetensors(dir / "model-00001-of-00002.safetensors", first);
  qmath_test::write_safetensors(dir / "model-00002-of-00002.safetensors", second);
  const auto index_json = [&](std::uint64_t total, const std::string& override_shard = "") {
    std::string j = "{\"metadata\":{\"total_size\":" + std::to_string(total) + "},\"weight_map\":{";
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      const std::string shard = !override_shard.empty() && i == 0 ? override_shard
                                : i < half                        ? "model-00001-of-00002.safetensors"
                                                                  : "model-00002-of-00002.safetensors";
      if (i != 0) j += ',';
      j += '"';
      j += tensors[i].name;
      j += "\":\"";
      j += shard;
      j += '"';
    }
    return j + "}}";
  };
  const std::uint64_t total = qmath_test::st_data_bytes(tensors);
  write_text(dir / "model.safetensors.index.json", index_json(total));
  for (const fs::path& p : {dir, dir / "model.safetensors.index.json"}) {
    const auto m = io::load_model(p);
    CHECK(m.format == io::model_format::safetensors_index);
    CHECK(*m.weight_bytes == total);
    CHECK(*m.parameter_count == a.official_parameters);
    CHECK(m.notes.empty());
  }

  // A total_size that disagrees with the shards is reported, not trusted.
  write_text(dir / "model.safetensors.index.json", index_json(total + 2));
  const auto off = io::load_model(dir);
  CHECK(*off.weight_bytes == total);
  REQUIRE(off.notes.size() == 1);
  CHECK_THAT(off.notes[0], Catch::Contains("total_size is " + std::to_string(total + 2)));

  // The weight_map may not point outside the folder, nor to a missing shard,
  // nor claim a tensor a shard does not hold.
  write_text(dir / "model.safetensors.index.json", index_json(total, "../../etc/passwd"));
  CHECK_THAT(error_of([&] { io::load_model(dir); }), Catch::Contains("not a file beside the index"));
  write_text(dir / "model.safetensors.index.json", index_json(total, "model-00003-of-00003.safetensors"));
  CHECK_THAT(error_of([&] { io::load_model(dir); }),
             Catch::Contains("shard 'model-00003-of-00003.safetensors' named in the weight_map is missing"));
  write_text(dir / "model.safetensors.index.json", index_json(total, "model-00002-of-00002.safetensors"));
  CHECK_THAT(error_of([&] { io::load_model(dir); }),
             Catch::Contains("is not in shard 'model-00002-of-00002.safetensors'"));
  write_text(dir / "model.safetensors.index.json", "{\"weight_map\": {}}");
  CHECK_THAT(error_of([&] { io::load_model(dir); }), Catch::Contains("the weight_map is empty"));

  // Without a config.json the architecture is unknown.
  fs::remove(dir / "config.json");
  CHECK_THAT(error_of([&] { io::load_model(dir / "model-00001-of-00002.safetensors"); }),
             Catch::Contains("no config.json beside it"));
}

TEST_CASE("every dtype of the format has its size") {
  const struct {
    const char* dtype;
    std::uint64_t bytes_for_8;
  } cases[] = {{"BOOL", 8},    {"F4", 4},      {"F6_E2M3", 6}, {"F6_E3M2", 6}, {"U8", 8},    {"I8", 8},
               {"F8_E5M2", 8}, {"F8_E4M3", 8}, {"F8_E8M0", 8}, {"I16", 16},    {"U16", 16},  {"F16", 16},
               {"BF16", 16},   {"I32", 32},    {"U32", 32},    {"F32", 32},    {"C64", 64},  {"F64", 64},
               {"I64", 64},    {"U64", 64}};
  for (const auto& c : cases) {
    INFO(c.dtype);
    const std::string entry = std::string("{\"dtype\":\"") + c.dtype + "\",\"shape\":[2,4],\"data_offsets\":[0," +
                              std::to_string(c.bytes_for_8) + "]}";
    const auto h = st::parse_header_json("{\"t\":" + entry + "}", c.bytes_for_8);
    REQUIRE(h.tensors.size() == 1);
    CHECK(h.tensors[0].elements == 8);
    CHECK(h.tensors[0].bytes() == c.bytes_for_8);
  }
  // Sub-byte dtypes must fill whole bytes.
  CHECK_THAT(entry_error(R"({"dtype":"F4","shape":[3],"data_offsets":[0,2]})", 2),
             Catch::Contains("do not fill whole bytes"));
}

TEST_CASE("malformed and hostile safetensors headers are clear errors") {
  using Catch::Contains;
  CHECK_THAT(entry_error(R"({"dtype":"F16","shape":[4],"data_offsets":[0,6]})"),
             Contains("needs 8 bytes, its data_offsets [0, 6] hold 6"));
  CHECK_THAT(entry_error(R"({"dtype":"Q4","shape":[4],"data_offsets":[0,8]})"), Contains("unknown dtype 'Q4'"));
  CHECK_THAT(entry_error(R"({"shape":[4],"data_offsets":[0,8]})"), Contains("no string dtype"));
  CHECK_THAT(entry_error(R"({"dtype":"F16","data_offsets":[0,8]})"), Contains("no shape array"));
  CHECK_THAT(entry_error(R"({"dtype":"F16","shape":[-4],"data_offsets":[0,8]})"),
             Contains("shape dimensions must be non-negative integers"));
  CHECK_THAT(entry_error(R"({"dtype":"F16","shape":[4.0],"data_offsets":[0,8]})"),
             Contains("shape dimensions must be non-negative integers"));
  CHECK_THAT(entry_error(R"({"dtype":"F16","shape":[4],"data_offsets":[0]})"), Contains("needs data_offsets"));
  CHECK_THAT(entry_error(R"({"dtype":"F16","shape":[4],"data_offsets":[8,0]})"), Contains("run backwards"));
  CHECK_THAT(entry_error(R"({"dtype":"F16","shape":[4],"data_offsets":[16,24]})"),
             Contains("run past the 16-byte data buffer"));
  CHECK_THAT(entry_error(R"({"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]})"),
             Contains("tensor element count overflows 64 bits"));
  CHECK_THAT(entry_error(R"({"dtype":"F64","shape":[4294967296,1073741824],"data_offsets":[0,8]})"),
             Contains("tensor bits overflows 64 bits"));
  CHECK_THAT(entry_error(R"({"dtype":"F16","shape":[1e400],"data_offsets":[0,8]})"), Contains("malformed JSON"));
  CHECK_THAT(entry_error(R"([1,2])"), Contains("tensor 't' must be an object"));
  // Layout: tensors must tile the buffer.
  const std::string a = R"("a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]})";
  const std::string b_overlap = R"("b":{"dtype":"U8","shape":[8],"data_offsets":[4,12]})";
  const std::string b_gap = R"("b":{"dtype":"U8","shape":[4],"data_offsets":[12,16]})";
  CHECK_THAT(error_of([&] { st::parse_header_json("{" + a + "," + b_overlap + "}", 16); }),
             Contains("overlaps the tensor before it"));
  CHECK_THAT(error_of([&] { st::parse_header_json("{" + a + "," + b_gap + "}", 16); }),
             Contains("leaving a gap after 8"));
  CHECK_THAT(error_of([&] { st::parse_header_json("{" + a + "}", 16); }),
             Contains("the tensors end at 8 but the data buffer has 16 bytes"));
  CHECK(st::parse_header_json("{" + a + "}  ", 8).tensors.size() == 1);  // trailing spaces pad the header
  CHECK_THAT(error_of([&] { st::parse_header_json(" {}", 0); }), Contains("does not start with '{'"));
  CHECK_THAT(error_of([&] { st::parse_header_json(R"({"__metadata__":{"format":1}})", 0); }),
             Contains("__metadata__ value 'format' must be a string"));
  CHECK(st::parse_header_json(R"({"__metadata__":{"format":"pt"}})", 0).metadata.at("format") == "pt");

  // The 8-byte length.
  const fs::path dir = scratch_dir("hostile");
  const fs::path f = dir / "model.safetensors";
  qmath_test::write_safetensors_raw(f, "{}", 0, 1000);
  CHECK_THAT(error_of([&] { st::read_header(f); }), Contains("header length 1000 runs past the end of the 10-byte file"));
  qmath_test::write_safetensors_raw(f, "{}", 0, std::uint64_t{1} << 62);
  CHECK_THAT(error_of([&] { st::read_header(f); }), Contains("more than the 100000000 bytes safetensors allows"));
  write_text(f, "abc");
  CHECK_THAT(error_of([&] { st::read_header(f); }), Contains("fewer than the 8-byte header length"));
  CHECK_THAT(error_of([&] { st::parse(std::string_view("abc")); }), Contains("fewer than the 8-byte header length"));
  // Through load_model the message names the file, on one line.
  fs::copy_file(configs / "qwen2_5_0_5b.json", dir / "config.json");
  const std::string e = error_of([&] { io::load_model(f); });
  CHECK(e.starts_with("qmath::io::load_model: " + f.string() + ": qmath::io::safetensors::read_header: "));
  CHECK(e.find('\n') == std::string::npos);
}

#else
TEST_CASE("safetensors reader needs nlohmann/json") { SUCCEED("nlohmann/json.hpp not available"); }
#endif
