#!/usr/bin/env python3
"""Runs qmath's benchmark programs and prints the README's table.

    python3 bench/report.py BUILD_DIR [--min-time 0.5] [--filter REGEX]

Each program measures a memcpy baseline of the same sizes in the same run; the
table gives every benchmark's elements/s, its decimal GB/s (bytes read plus
written) and that rate as a share of the baseline's GB/s at the same size.
The first lines name the machine, the architecture the kernels ran and the
load, since absolute numbers differ between machines and only the ratios to
the baseline carry over.
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

PROGRAMS = ["bench_fp", "bench_gguf", "bench_lowbit", "bench_bnb"]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def run(program: Path, min_time: float, filt: str | None) -> dict:
    cmd = [str(program), "--benchmark_format=json", f"--benchmark_min_time={min_time}"]
    if filt:
        cmd.append(f"--benchmark_filter={filt}")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def size_of(name: str) -> int:
    m = re.search(r"/(\d+)(?:/|$)", name)
    return int(m.group(1)) if m else 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir", type=Path)
    ap.add_argument("--min-time", type=float, default=0.5)
    ap.add_argument("--filter", default=None)
    args = ap.parse_args()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores, load average {load:.1f} at the start.")
    arch = None
    rows = []
    for name in PROGRAMS:
        program = args.build_dir / "bench" / name
        if not program.exists():
            print(f"(missing {program})", file=sys.stderr)
            continue
        data = run(program, args.min_time, args.filter)
        ctx = data.get("context", {})
        arch = arch or ctx.get("qmath_arch") or ctx.get("arch") or next(
            (v for k, v in ctx.items() if "arch" in k.lower() and isinstance(v, str)), None)
        baseline = {}
        for b in data["benchmarks"]:
            if "memcpy" in b["name"].lower() and b.get("bytes_per_second"):
                baseline.setdefault(size_of(b["name"]), b["bytes_per_second"])
        for b in data["benchmarks"]:
            if b.get("run_type") == "aggregate":
                continue
            n = size_of(b["name"])
            items = b.get("items_per_second", 0.0)
            bytes_ = b.get("bytes_per_second", 0.0)
            base = baseline.get(n)
            share = f"{100.0 * bytes_ / base:.0f}%" if base and "memcpy" not in b["name"].lower() else ""
            rows.append((name, b["name"], items / 1e9, bytes_ / 1e9, share))
    print(f"Kernels: {arch or 'see each program'}.\n")
    print("| program | benchmark | G elements/s | GB/s (read + written) | share of memcpy GB/s |")
    print("|---|---|---:|---:|---:|")
    for program, bench, items, gbs, share in rows:
        print(f"| {program} | `{bench}` | {items:.2f} | {gbs:.1f} | {share} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
