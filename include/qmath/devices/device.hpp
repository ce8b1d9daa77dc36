#pragma once
// The hardware profile record. The table of profiles is devices/catalog.hpp.
// Plain data so that a profile is usable in constant expressions
// (static_assert(qmath::fits(plan, qmath::devices::rtx_3060_12gb))).
// This header does not include xsimd.

#include <cstdint>
#include <string_view>

#include "qmath/detail/checked.hpp"

namespace qmath {

enum class device_vendor : std::uint8_t { nvidia, amd, intel, apple, cpu, google };

enum class device_kind : std::uint8_t {
  gpu,             // a discrete accelerator with its own memory
  unified_memory,  // Apple silicon: the GPU shares system RAM, capped by Metal's working-set limit
  cpu_ram,         // inference from system RAM only
  cloud_instance,  // a rentable machine: `count` accelerators of one kind plus host RAM and a price
};

struct device {
  std::string_view id;    // stable identifier, e.g. "rtx_3060_12gb"
  std::string_view name;  // display name, e.g. "GeForce RTX 3060 12GB"
  device_vendor vendor;
  device_kind kind;
  // Memory of one accelerator in bytes, as the hardware has it (a vendor's
  // "12 GB" of GDDR/HBM is 12 GiB of DRAM; see shared research hardware.md).
  std::uint64_t memory_bytes;
  // What one process can actually allocate on it: memory_bytes less ECC
  // reservation on GDDR datacenter parts, the driver's reserve, or Apple's
  // recommendedMaxWorkingSetSize. Budgets are checked against this.
  std::uint64_t usable_bytes;
  std::uint32_t count = 1;                  // accelerators per device (cloud instances)
  double memory_bandwidth_gbps = 0;         // peak, decimal GB/s
  double fp16_tflops = 0;                   // dense tensor-core FP16, FP32 accumulate
  double bf16_tflops = 0;                   // dense, 0 where unsupported
  double int8_tops = 0;                     // dense, 0 where unsupported
  double fp8_tflops = 0;                    // dense, 0 where unsupported
  std::uint64_t host_ram_bytes = 0;         // cloud instances: system RAM
  double usd_per_hour = 0;                  // cloud instances: on-demand list price, 0 if none
  std::uint16_t release_year = 0;
  std::string_view source;                  // where the numbers come from

  constexpr std::uint64_t total_usable_bytes() const {
    return detail::checked_mul(usable_bytes, count, "qmath::device::total_usable_bytes", "usable bytes");
  }
};

// Rejects a profile no hardware has: no memory, no accelerator, more usable
// than physical memory, or a rate or price that is NaN, infinite or negative.
constexpr const device& validate(const device& d) {
  constexpr const char* api = "qmath::device";
  QMATH_REQUIRE(d.memory_bytes > 0 && d.usable_bytes > 0, api, d.id, ": device has no memory");
  QMATH_REQUIRE(d.count > 0, api, d.id, ": device has no accelerators");
  (void)d.total_usable_bytes();
  (void)detail::checked_non_negative(d.memory_bandwidth_gbps, api, "memory bandwidth");
  (void)detail::checked_non_negative(d.fp16_tflops, api, "fp16 TFLOPS");
  (void)detail::checked_non_negative(d.bf16_tflops, api, "bf16 TFLOPS");
  (void)detail::checked_non_negative(d.int8_tops, api, "int8 TOPS");
  (void)detail::checked_non_negative(d.fp8_tflops, api, "fp8 TFLOPS");
  (void)detail::checked_non_negative(d.usd_per_hour, api, "price per hour");
  return d;
}

}  // namespace qmath
