// The device catalog: invariants of every row, the seed devices, units (GiB
// versus GB), the usable-memory rules and spot checks against the sourced
// table tests/data/devices/hardware.csv (tests/python/test_devices_catalog.py
// compares every row with it).
#include <qmath/devices.hpp>

#include <set>
#include <string>

#include "catch.hpp"

namespace d = qmath::devices;
using qmath::device_kind;

namespace {
constexpr double MiB = 1024.0 * 1024.0;
constexpr std::uint64_t GiB = std::uint64_t{1} << 30;
}  // namespace

TEST_CASE("every profile is complete and self-consistent") {
  CHECK(d::all.size() >= 60);
  std::set<std::string_view> ids;
  for (const auto& dev : d::all) {
    INFO(dev.id);
    CHECK(ids.insert(dev.id).second);  // ids are unique
    CHECK(!dev.name.empty());
    CHECK(!dev.source.empty());
    CHECK(dev.memory_bytes > 0);
    CHECK(dev.usable_bytes > 0);
    CHECK(dev.usable_bytes <= dev.memory_bytes);
    CHECK(dev.count >= 1);
    CHECK(dev.total_usable_bytes() == dev.usable_bytes * dev.count);
    CHECK(dev.memory_bandwidth_gbps > 0);
    CHECK(dev.fp16_tflops > 0);
    CHECK(dev.usd_per_hour >= 0);
    for (char c : dev.id) CHECK(((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'));
    // A lookup by id finds this very row.
    CHECK(&d::get(dev.id) == &dev);
    CHECK(d::get(dev.id).memory_bytes == dev.memory_bytes);
    REQUIRE(d::find(dev.id).has_value());
    CHECK(d::find(dev.id)->source == dev.source);
    if (dev.kind == device_kind::cloud_instance) CHECK(dev.host_ram_bytes > 0);
    if (dev.kind == device_kind::cpu_ram) CHECK(dev.vendor == qmath::device_vendor::cpu);
    if (dev.kind == device_kind::unified_memory) CHECK(dev.vendor == qmath::device_vendor::apple);
    // Peak rates only grow with narrower types where a device has them.
    if (dev.int8_tops > 0 && dev.kind == device_kind::gpu) CHECK(dev.int8_tops >= dev.fp16_tflops);
  }
}

TEST_CASE("the seed devices exist") {
  for (const char* id :
       {"rtx_3060_12gb", "rtx_3060_8gb", "rtx_3060_ti_8gb", "rtx_3080_10gb", "rtx_3080_12gb", "rtx_4060_ti_8gb",
        "rtx_4060_ti_16gb", "rtx_2080_ti", "rtx_4090", "rtx_5090", "t4", "p100_pcie_16gb", "v100_sxm2_16gb",
        "v100_sxm2_32gb", "a10", "a10g", "rtx_a4000", "rtx_a5000", "rtx_a6000", "a100_sxm4_40gb", "a100_sxm4_80gb",
        "l4", "l40s", "h100_sxm5_80gb", "h100_pcie_80gb", "h200_sxm_141gb", "b200", "mi250x", "mi300x", "rx_7900_xtx",
        "m1_8gb", "m2_pro_32gb", "m3_max_128gb", "m2_ultra_192gb", "m4_max_128gb", "cpu_3gb", "cpu_8gb", "cpu_16gb",
        "cpu_32gb", "aws_p3_2xlarge", "aws_g5_xlarge", "aws_g4dn_xlarge", "aws_t3_2xlarge", "gcp_n1_standard_8_v100",
        "gcp_n1_standard_8_t4", "azure_nc6s_v3", "azure_nc4as_t4_v3", "colab_free_t4", "kaggle_p100",
        "kaggle_t4x2"}) {
    INFO(id);
    CHECK(d::find(id).has_value());
  }
  CHECK_FALSE(d::find("rtx_3060").has_value());
  CHECK_THROWS_WITH(d::get("gtx_1080"), Catch::Contains("unknown device id 'gtx_1080'"));
}

TEST_CASE("vendor GB of DRAM are GiB; memory variants are separate rows") {
  CHECK(d::rtx_3060_12gb.memory_bytes == 12 * GiB);
  CHECK(d::rtx_3060_12gb.memory_bytes != 12'000'000'000u);
  CHECK(d::rtx_3060_8gb.memory_bytes == 8 * GiB);
  CHECK(d::rtx_3060_ti_8gb.memory_bytes == 8 * GiB);
  // Same chip, narrower bus: 192 bit x 15 Gbps / 8 = 360 GB/s versus 128 bit = 240 GB/s.
  CHECK(d::rtx_3060_12gb.memory_bandwidth_gbps == 360);
  CHECK(d::rtx_3060_8gb.memory_bandwidth_gbps == 240);
  CHECK(d::rtx_3060_8gb.fp16_tflops == d::rtx_3060_12gb.fp16_tflops);
  CHECK(d::rtx_3080_10gb.memory_bytes == 10 * GiB);
  CHECK(d::rtx_3080_12gb.memory_bytes == 12 * GiB);
  CHECK(d::rtx_4060_ti_8gb.memory_bandwidth_gbps == d::rtx_4060_ti_16gb.memory_bandwidth_gbps);
  CHECK(d::v100_sxm2_32gb.memory_bytes == 2 * d::v100_sxm2_16gb.memory_bytes);
  CHECK(d::m3_max_128gb.memory_bytes == 128 * GiB);
  CHECK(d::m2_ultra_192gb.memory_bytes == 192 * GiB);
  CHECK(d::h200_sxm_141gb.memory_bytes == 141 * GiB);
}

TEST_CASE("usable memory: driver totals, ECC on GDDR, Metal's working set, an OS reserve") {
  // nvidia-smi totals (hardware.md table): A100 80GB = 81920 MiB, H100 = 81559 MiB, 4090 = 24564 MiB.
  CHECK(d::a100_sxm4_80gb.usable_bytes == 80 * GiB);
  CHECK(d::h100_sxm5_80gb.usable_bytes == std::uint64_t{81559} << 20);
  CHECK(d::rtx_4090.usable_bytes == std::uint64_t{24564} << 20);
  // ECC on GDDR6: T4 reports 15360 MiB = 15/16 of 16 GiB; the A40 has no published
  // total and gets the same 15/16 rule: 45 GiB.
  CHECK(d::t4.usable_bytes == 16 * GiB / 16 * 15);
  CHECK(d::a40.usable_bytes == 45 * GiB);
  CHECK(d::colab_free_t4.usable_bytes == d::t4.usable_bytes);
  CHECK(d::aws_g5_xlarge.usable_bytes == std::uint64_t{22888} << 20);  // AWS API value for the A10G
  // Metal's recommendedMaxWorkingSetSize as ggml-metal logs it (MiB):
  // 16 GB M1 10922.67 (abetlen/llama-cpp-python#687), 32 GB 21845.34 (ollama/ollama#434),
  // 96 GB M2 Max 73728.00 (ggml-org/llama.cpp#3213).
  CHECK(static_cast<double>(d::m1_16gb.usable_bytes) / MiB == Approx(10922.67).epsilon(1e-4));
  CHECK(static_cast<double>(d::m1_max_32gb.usable_bytes) / MiB == Approx(21845.34).epsilon(1e-4));
  CHECK(static_cast<double>(d::m2_max_96gb.usable_bytes) / MiB == 73728.0);
  CHECK(d::m2_ultra_192gb.usable_bytes == 144 * GiB);
  // CPU: RAM less min(2 GiB, RAM / 4).
  CHECK(d::cpu_3gb.usable_bytes == 3 * GiB - 3 * GiB / 4);
  CHECK(d::cpu_8gb.usable_bytes == 6 * GiB);
  CHECK(d::cpu_32gb.usable_bytes == 30 * GiB);
}

TEST_CASE("cloud instances: accelerators, host RAM and price") {
  CHECK(d::aws_p3_2xlarge.usd_per_hour == 3.06);
  CHECK(d::aws_g4dn_xlarge.usd_per_hour == 0.526);
  CHECK(d::aws_g5_xlarge.usd_per_hour == 1.006);
  CHECK(d::aws_t3_2xlarge.usd_per_hour == 0.3328);
  CHECK(d::gcp_n1_standard_8_v100.usd_per_hour == 2.86);  // VM 0.38 + V100 2.48
  CHECK(d::gcp_n1_standard_8_t4.usd_per_hour == 0.73);
  CHECK(d::azure_nc6s_v3.host_ram_bytes == 112 * GiB);
  CHECK(d::colab_free_t4.usd_per_hour == 0);
  CHECK(d::kaggle_p100.usd_per_hour == 0);
  CHECK(d::kaggle_t4x2.count == 2);
  CHECK(d::kaggle_t4x2.total_usable_bytes() == 2 * d::t4.usable_bytes);
  CHECK(d::mi250x.count == 2);
  CHECK(d::mi250x.total_usable_bytes() == 128 * GiB);
  CHECK(d::aws_p3_2xlarge.memory_bandwidth_gbps == d::v100_sxm2_16gb.memory_bandwidth_gbps);
  CHECK(d::aws_g4dn_xlarge.fp16_tflops == d::t4.fp16_tflops);
  CHECK(d::aws_t3_2xlarge.kind == device_kind::cloud_instance);
  CHECK(d::aws_t3_2xlarge.memory_bytes == 32 * GiB);
}

TEST_CASE("spot checks against hardware.csv") {
  // rows copied from tests/data/devices/hardware.csv by hand
  CHECK(d::h100_sxm5_80gb.memory_bandwidth_gbps == 3350);
  CHECK(d::h100_sxm5_80gb.bf16_tflops == 989.4);
  CHECK(d::h100_sxm5_80gb.fp8_tflops == 1978.9);
  CHECK(d::a100_pcie_80gb.memory_bandwidth_gbps == 1935);
  CHECK(d::rtx_4090.fp16_tflops == 165.2);
  CHECK(d::rtx_4090.fp8_tflops == 330.3);
  CHECK(d::t4.bf16_tflops == 0);  // Turing has no BF16
  CHECK(d::t4.int8_tops == 130);
  CHECK(d::v100_sxm2_16gb.int8_tops == 0);  // no INT8 tensor cores: left unknown
  CHECK(d::l4.memory_bandwidth_gbps == 300);
  CHECK(d::mi300x.fp16_tflops == 1307.4);
  CHECK(d::m2_pro_32gb.memory_bandwidth_gbps == 200);
  CHECK(d::m4_max_128gb.memory_bandwidth_gbps == 546);
  CHECK(d::m3_max_30c_96gb.memory_bandwidth_gbps == 300);
  CHECK(d::b200.release_year == 2024);
}
