// Compile-time checks of the device catalog and the speed estimators: both are
// usable in constant expressions.
#include <qmath/devices.hpp>
#include <qmath/estimate/speed.hpp>

namespace d = qmath::devices;

static_assert(d::all.size() >= 60);
static_assert(d::get("rtx_3060_12gb").memory_bytes == std::uint64_t{12} << 30);
static_assert(!d::find("no_such_device").has_value());
static_assert(d::find("m2_ultra_192gb")->kind == qmath::device_kind::unified_memory);

consteval bool rows_are_sane() {
  for (std::size_t i = 0; i < d::all.size(); ++i) {
    const auto& dev = d::all[i];
    if (dev.usable_bytes == 0 || dev.usable_bytes > dev.memory_bytes || dev.memory_bandwidth_gbps <= 0) return false;
    if (dev.source.empty()) return false;
    for (std::size_t j = i + 1; j < d::all.size(); ++j)
      if (d::all[j].id == dev.id) return false;
  }
  return true;
}
static_assert(rows_are_sane(), "qmath::devices: a row has no memory, more usable than total memory, or a duplicate id");

// A budget check in a constant expression: 7B parameters at 4.5 bits fit a 12 GB card.
static_assert(7'000'000'000ull * 9 / 16 < d::rtx_3060_12gb.usable_bytes);

// Decode of 4 GB of weights on a 4090 is bandwidth bound: 0.5 * 1008e9 / 4e9 = 126 t/s.
constexpr auto decode = qmath::decode_speed(d::rtx_4090, {.weight_bytes = 4e9, .active_params = 7e9});
static_assert(decode.bound == qmath::roofline_bound::memory);
static_assert(decode.tokens_per_second > 125.9 && decode.tokens_per_second < 126.1);

constexpr auto train = qmath::training_time(d::a100_sxm4_80gb, {.params = 1e9, .tokens = 1e9});
static_assert(train.instances == 1 && train.seconds > 0);
