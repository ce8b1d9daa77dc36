#pragma once
// `--device local`: this machine as a hardware profile. RAM from
// /proc/meminfo (Linux), sysctl hw.memsize (macOS) or sysconf; NVIDIA GPUs
// from `nvidia-smi` when it is on PATH; Apple silicon from sysctl's CPU brand;
// the CPU's SIMD features for the name. Bandwidth and peak FLOPS come from the
// table entry of the same card (or the table's CPU profile) since the OS does
// not report them. QMATH_PLAN_MEMINFO names another meminfo file (tests).

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <qmath/devices/lookup.hpp>

#include "resolve.hpp"

namespace qmath_plan {

inline std::string run_command(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  pclose(pipe);
  return out;
}

inline bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    if (!dir.empty() && access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  return false;
}

inline std::uint64_t host_ram_bytes() {
  const char* override_path = std::getenv("QMATH_PLAN_MEMINFO");
  std::ifstream meminfo(override_path != nullptr ? override_path : "/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemTotal:") return kib * 1024;
#if defined(__APPLE__)
  const std::string s = run_command("sysctl -n hw.memsize 2>/dev/null");
  if (!s.empty()) return std::stoull(s);
#endif
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
  return 0;
}

inline std::string simd_features() {
  std::vector<std::string> f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) {
    std::string s = "AVX-512";
    std::string sub;
    auto add = [&](bool on, const char* n) {
      if (on) sub += (sub.empty() ? "" : ", ") + std::string(n);
    };
    add(__builtin_cpu_supports("avx512bw"), "BW");
    add(__builtin_cpu_supports("avx512vl"), "VL");
    add(__builtin_cpu_supports("avx512vnni"), "VNNI");
    add(__builtin_cpu_supports("avx512bf16"), "BF16");
    add(__builtin_cpu_supports("avx512vbmi"), "VBMI");
    if (!sub.empty()) s += " (" + sub + ")";
    f.push_back(s);
  } else if (__builtin_cpu_supports("avx2")) {
    f.emplace_back(__builtin_cpu_supports("fma") ? "AVX2+FMA" : "AVX2");
  } else if (__builtin_cpu_supports("avx")) {
    f.emplace_back("AVX");
  } else {
    f.emplace_back("SSE");
  }
  if (__builtin_cpu_supports("f16c")) f.emplace_back("F16C");
#elif defined(__aarch64__)
  f.emplace_back("NEON");
#else
  f.emplace_back("no SIMD detected");
#endif
  std::string out;
  for (const auto& s : f) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// The table's CPU profile closest in RAM (for its bandwidth and FLOPS).
inline qmath::device cpu_template(std::uint64_t ram) {
  qmath::device best = qmath::devices::cpu_16gb;
  std::uint64_t best_gap = ~std::uint64_t{0};
  for (const auto& d : qmath::devices::all) {
    if (d.kind != qmath::device_kind::cpu_ram) continue;
    const std::uint64_t gap = d.memory_bytes > ram ? d.memory_bytes - ram : ram - d.memory_bytes;
    if (gap < best_gap) {
      best_gap = gap;
      best = d;
    }
  }
  return best;
}

// This machine: one profile per NVIDIA GPU, or Apple silicon, or the CPU.
inline std::vector<qmath::device> local_devices(std::vector<std::string>& notes) {
  std::vector<qmath::device> out;
  const std::uint64_t ram = host_ram_bytes();
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  if (on_path("nvidia-smi")) {
    std::stringstream lines(run_command("nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits 2>/dev/null"));
    std::string line;
    int index = 0;
    while (std::getline(lines, line)) {
      const auto comma = line.rfind(',');
      if (comma == std::string::npos) continue;
      std::string name = line.substr(0, comma);
      std::uint64_t mib_total = 0;
      try {
        mib_total = std::stoull(line.substr(comma + 1));
      } catch (...) {
        continue;
      }
      while (!name.empty() && name.back() == ' ') name.pop_back();
      const auto found = qmath::devices::lookup(name);
      qmath::device d = found.found ? *found.found : qmath::devices::rtx_3060_12gb;
      if (!found.found)
        notes.push_back("local GPU '" + name + "' is not in the table: its speed is estimated as an RTX 3060's");
      d.id = intern("local_gpu" + std::to_string(index));
      d.name = intern(name + " (this machine, nvidia-smi)");
      d.kind = qmath::device_kind::gpu;
      d.memory_bytes = mib_total << 20;
      d.usable_bytes = mib_total << 20;
      d.host_ram_bytes = ram;
      d.usd_per_hour = 0;
      d.source = "nvidia-smi --query-gpu=name,memory.total";
      out.push_back(d);
      ++index;
    }
  }
#if defined(__APPLE__)
  if (out.empty()) {
    std::string brand = run_command("sysctl -n machdep.cpu.brand_string 2>/dev/null");
    while (!brand.empty() && (brand.back() == '\n' || brand.back() == ' ')) brand.pop_back();
    if (brand.find("Apple") != std::string::npos) {
      const auto found = qmath::devices::lookup(brand + " " + std::to_string(ram >> 30) + "GB");
      if (found.found) {
        qmath::device d = *found.found;
        d.id = "local";
        d.name = intern(brand + " " + std::to_string(ram >> 30) + " GiB (this machine)");
        out.push_back(d);
      }
    }
  }
#endif
  if (out.empty()) {
    qmath::device d = cpu_template(ram);
    d.id = "local";
    char gib[32];
    std::snprintf(gib, sizeof gib, "%.1f", static_cast<double>(ram) / static_cast<double>(1ull << 30));
    d.name = intern("this machine: " + std::to_string(cores) + " cores, " + simd_features() + ", " + gib +
                    " GiB RAM");
    d.memory_bytes = ram;
    // the table's CPU rule: keep min(2 GiB, RAM / 4) for the OS
    const std::uint64_t reserve = std::min<std::uint64_t>(ram / 4, std::uint64_t{2} << 30);
    d.usable_bytes = ram - reserve;
    d.source = "/proc/meminfo MemTotal (bandwidth and FLOPS: the table's CPU profile)";
    out.push_back(d);
  }
  if (ram == 0) throw usage_error("--device local: cannot read this machine's RAM");
  return out;
}

// Every --device word to profiles; notes collects "RTX 3060 = ..." lines.
inline std::vector<qmath::device> resolve_devices(const std::vector<std::string>& words,
                                                  std::vector<std::string>& notes) {
  std::vector<qmath::device> out;
  for (const auto& w : words) {
    if (lower(w) == "all") {
      out.insert(out.end(), qmath::devices::all.begin(), qmath::devices::all.end());
      continue;
    }
    if (lower(w) == "local") {
      const auto local = local_devices(notes);
      out.insert(out.end(), local.begin(), local.end());
      continue;
    }
    const auto r = qmath::devices::lookup(w);
    if (r.found) {
      if (!r.note.empty()) notes.push_back(r.note);
      out.push_back(*r.found);
      continue;
    }
    if (r.ambiguous)
      throw usage_error("device '" + w + "' is ambiguous: " + suggestion_list(r.suggestions) + " (give one of these ids)");
    throw usage_error("unknown device '" + w + "'" +
                      (r.suggestions.empty() ? std::string() : "; closest: " + suggestion_list(r.suggestions)) +
                      " (--list devices)");
  }
  return out;
}

}  // namespace qmath_plan
