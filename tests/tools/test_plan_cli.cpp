// qmath-plan's flag parser (every flag, its aliases, bad values) and
// qmath::devices::lookup (the names people write).

#include <string>
#include <vector>

#include "catch.hpp"

#include <qmath/devices/lookup.hpp>

#include "cli.hpp"

namespace {

using qmath_plan::options;
using qmath_plan::parse;
using qmath_plan::usage_error;

options parse_words(std::vector<std::string> words) {
  std::vector<const char*> argv{"qmath-plan"};
  for (const auto& w : words) argv.push_back(w.c_str());
  return parse(static_cast<int>(argv.size()), argv.data());
}

// A valid value for each metavariable of the flag table.
std::string sample_value(const qmath_plan::flag& f) {
  const std::string_view name = f.names.front();
  if (name == "--mode") return "qlora";
  if (name == "--flash-attention") return "off";
  if (name == "--zero") return "2";
  if (name == "--list") return "formats";
  if (name == "--lora-targets") return "q,k,v,o";
  if (name == "--optimizer") return "adamw8bit";
  if (f.value == "N" || f.value == "R" || f.value == "A") return "8";
  return "x";
}

}  // namespace

TEST_CASE("qmath-plan parses every flag under every one of its names", "[tools][cli]") {
  for (const auto& f : qmath_plan::flags()) {
    for (const auto name : f.names) {
      INFO("flag " << name);
      std::vector<std::string> words{std::string(name)};
      if (name == "--together") {
        words.emplace_back("KoBERT");
        words.emplace_back("Qwen2.5-0.5B@Q4_0");
      } else if (!f.value.empty()) {
        words.push_back(sample_value(f));
      }
      const options o = parse_words(words);
      REQUIRE(o.given.size() == 1);
      CHECK(o.given.front() == f.names.front());
      if (name == "--together") CHECK(o.together == std::vector<std::string>{"KoBERT", "Qwen2.5-0.5B@Q4_0"});
      // --flag=value is the same flag
      if (!f.value.empty() && name.substr(0, 2) == "--" && name != "--together") {
        const options eq = parse_words({std::string(name) + "=" + sample_value(f)});
        CHECK(eq.given.front() == f.names.front());
      }
    }
  }
}

TEST_CASE("qmath-plan flags set what they say", "[tools][cli]") {
  const options o = parse_words({"--model", "CodeLlama-7B", "--device", "RTX 3060", "--device", "t4", "--mode", "qlora",
                                 "-c", "8k", "--batch", "4", "-ub", "256", "-ngl", "20", "--lora-rank", "16",
                                 "--grad-accum", "4", "--grad-checkpointing", "--tokens", "10M", "--gpus", "2",
                                 "--zero", "3", "-fa", "on", "-ctk", "q8_0", "-ctv", "q4_0", "--json"});
  CHECK(o.model == "CodeLlama-7B");
  CHECK(o.devices == std::vector<std::string>{"RTX 3060", "t4"});
  CHECK(o.mode == qmath_plan::mode_t::qlora);
  CHECK(o.context == 8192u);
  CHECK(o.batch == 4u);
  CHECK(o.ubatch == 256u);
  CHECK(o.gpu_layers == 20u);
  CHECK(o.lora_rank == 16u);
  CHECK(o.grad_accum == 4);
  CHECK(o.grad_checkpointing);
  CHECK(o.tokens == 10'000'000u);
  CHECK(o.gpus == 2);
  CHECK(o.zero == 3);
  CHECK(o.flash_attention == qmath_plan::switch_t::on);
  CHECK(o.kv_k == "q8_0");
  CHECK(o.kv_v == "q4_0");
  CHECK(o.json);
  CHECK(parse_words({"--requests", "1,000"}).requests == 1000u);
  CHECK(parse_words({"--context", "32K"}).context == 32768u);
}

TEST_CASE("qmath-plan rejects bad flags and values with one message", "[tools][cli]") {
  const std::vector<std::vector<std::string>> bad{
      {"--modle", "x"},       {"stray"},           {"--context"},          {"--context", "abc"},
      {"--context", "0"},     {"--context", "-5"}, {"--batch", "1.5"},     {"--zero", "4"},
      {"--mode", "train"},    {"--list", "gpus"},  {"--json=yes"},         {"--flash-attention", "maybe"},
      {"--together"},         {"--tokens", "99999999999999999999"},       {"--context", "4294967296k"},
      {"--gpus", "0"},        {"--model", ""},
  };
  for (const auto& words : bad) {
    INFO(words.front() << (words.size() > 1 ? " " + words[1] : std::string()));
    CHECK_THROWS_AS(parse_words(words), usage_error);
  }
  try {
    (void)parse_words({"--cotnext", "5"});
  } catch (const usage_error& e) {
    CHECK(std::string(e.what()) == "unknown flag --cotnext (see --help)");
  }
}

TEST_CASE("qmath::devices::lookup finds the names people write", "[tools][devices]") {
  using qmath::devices::lookup;
  // ids, in any case and with spaces or dashes for underscores
  CHECK(lookup("rtx_3060_12gb").found->id == "rtx_3060_12gb");
  CHECK(lookup("RTX-3060-12GB").found->id == "rtx_3060_12gb");
  CHECK(lookup("t4").found->id == "t4");
  CHECK(lookup("T4").found->id == "t4");
  // the 3060 people mean is the 12 GB card, and the answer says so
  const auto r = lookup("RTX 3060");
  REQUIRE(r.found);
  CHECK(r.found->id == "rtx_3060_12gb");
  CHECK(r.note.find("12 GB") != std::string::npos);
  CHECK(std::find(r.suggestions.begin(), r.suggestions.end(), "rtx_3060_8gb") != r.suggestions.end());
  CHECK(lookup("A100 40GB").found->id == "a100_sxm4_40gb");
  CHECK(lookup("a100 80gb").found->id == "a100_sxm4_80gb");
  CHECK(lookup("A100 PCIe 40GB").found->id == "a100_pcie_40gb");
  CHECK(lookup("M2 Pro 16GB").found->id == "m2_pro_16gb");
  CHECK(lookup("Apple M2 Pro 16GB").found->id == "m2_pro_16gb");
  CHECK(lookup("RTX 4090").found->id == "rtx_4090");
  CHECK(lookup("GeForce RTX 3090").found->id == "rtx_3090");  // not the 3090 Ti
  CHECK(lookup("RTX 3090 Ti").found->id == "rtx_3090_ti");
  CHECK(lookup("3060Ti").found->id == "rtx_3060_ti_8gb");
  CHECK(lookup("RTX 4060 Ti").found->id == "rtx_4060_ti_16gb");
  CHECK(lookup("RTX 4060 Ti 8GB").found->id == "rtx_4060_ti_8gb");
  CHECK(lookup("NVIDIA GeForce RTX 3060").found->id == "rtx_3060_12gb");  // nvidia-smi's name
  CHECK(lookup("p3.2xlarge").found->id == "aws_p3_2xlarge");
  CHECK(lookup("g4dn.xlarge").found->id == "aws_g4dn_xlarge");
  // several profiles and no usual choice: ambiguous, listing them
  const auto m2 = lookup("M2 Max");
  CHECK_FALSE(m2.found);
  CHECK(m2.ambiguous);
  CHECK(m2.suggestions.size() >= 3);
  // unknown: the closest names
  const auto typo = lookup("rtx_3600_12gb");
  CHECK_FALSE(typo.found);
  CHECK_FALSE(typo.ambiguous);
  REQUIRE_FALSE(typo.suggestions.empty());
  CHECK(typo.suggestions.front() == "rtx_3060_12gb");
  CHECK(lookup("").suggestions.empty());
  CHECK_FALSE(lookup("zzzzzzzzzzzzzzzzzzzzzzzz").found);
}

TEST_CASE("name_distance is Levenshtein's, ignoring case", "[tools][devices]") {
  using qmath::devices::name_distance;
  CHECK(name_distance("", "") == 0);
  CHECK(name_distance("abc", "") == 3);
  CHECK(name_distance("kitten", "sitting") == 3);
  CHECK(name_distance("KoBERT", "kobert") == 0);
  CHECK(name_distance("qwen-14b", "Qwen-14B") == 0);
  CHECK(name_distance("llama-3-8b", "llama-3.1-8b") == 2);
}

TEST_CASE("--errors asks for the error table and takes no value", "[tools][cli]") {
  CHECK_FALSE(parse_words({}).errors);
  CHECK(parse_words({"--errors"}).errors);
  CHECK(parse_words({"--errors", "--best-format"}).best_format);
  CHECK_THROWS_WITH(parse_words({"--errors=yes"}), Catch::Contains("--errors takes no value"));
}
