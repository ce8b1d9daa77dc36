"""The device catalog (include/qmath/devices/catalog.hpp) against the sourced
hardware table tests/data/devices/hardware.csv, read independently of the C++:
every row that names a CSV row must carry its memory, bandwidth and peak rates,
nvidia-smi totals and cloud prices; every CSV row must be in the catalog."""
import csv
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADER = ROOT / "include" / "qmath" / "devices" / "catalog.hpp"
CSV = ROOT / "tests" / "data" / "devices" / "hardware.csv"
GIB, MIB = 1 << 30, 1 << 20

# The memory rules of the header, restated; the data points they must match are
# checked in test_memory_rules_match_published_values.
RULES = {
    "gib": lambda n: n * GIB,
    "mib": lambda n: n * MIB,
    "ecc_on_gddr": lambda b: b // 16 * 15,
    "metal_working_set": lambda b: b // 3 * 2 if b <= 36 * GIB else b // 4 * 3,
    "cpu_usable": lambda b: b - min(2 * GIB, b // 4),
}


def evaluate(expr):
    expr = expr.replace("detail::", "")
    expr = re.sub(r"static_cast<std::uint64_t>\((.*)\)$", r"int(\1)", expr)
    return eval(expr, {"__builtins__": {"int": int}}, RULES)  # noqa: S307 (expressions from our own header)


def catalog():
    rows = {}
    field = re.compile(r'\.(\w+) = ("(?:[^"\\]|\\.)*"|[^,}]+)')
    for line in HEADER.read_text(encoding="utf-8").splitlines():
        m = re.match(r"inline constexpr device (\w+)\{(.*)\};$", line)
        if not m:
            continue
        values = {k: v.strip() for k, v in field.findall(m.group(2))}
        row = {k: v[1:-1] if v.startswith('"') else v for k, v in values.items()}
        for k in ("memory_bytes", "usable_bytes", "host_ram_bytes"):
            if k in row:
                row[k] = evaluate(row[k])
        for k in ("memory_bandwidth_gbps", "fp16_tflops", "bf16_tflops", "int8_tops", "fp8_tflops", "usd_per_hour"):
            row[k] = float(row.get(k, 0))
        row["count"] = int(row.get("count", 1))
        row["release_year"] = int(row.get("release_year", 0))
        assert row["id"] == m.group(1), "variable name and id agree"
        rows[row["id"]] = row
    return rows


ROWS = catalog()
TABLE = {r["id"]: r for r in csv.DictReader(CSV.open(encoding="utf-8"))}


def number(text):
    text = (text or "").strip()
    return 0.0 if text in ("", "NA") else float(text)


def csv_id(row):
    m = re.match(r"hardware\.csv:([\w.\-]+);", row["source"])
    return m.group(1) if m else None


def test_catalog_is_large_and_parsed():
    assert len(ROWS) >= 60
    assert all(r["memory_bytes"] > 0 and 0 < r["usable_bytes"] <= r["memory_bytes"] for r in ROWS.values())


def test_every_csv_row_is_in_the_catalog():
    cited = {csv_id(r) for r in ROWS.values()}
    assert set(TABLE) - cited == set()


@pytest.mark.parametrize("ident", sorted(i for i, r in ROWS.items() if csv_id(r)))
def test_row_matches_the_csv(ident):
    row, src = ROWS[ident], TABLE[csv_id(ROWS[ident])]
    per_gcd = 2 if ident == "mi250x" else 1  # one row per GCD of the two-die card
    if src["category"] == "cloud_instance" and not src["memory_published"]:
        # CPU-only instances: the host RAM is the memory.
        assert row["memory_bytes"] == row["host_ram_bytes"] == int(float(src["host_ram_GiB"])) * GIB
    elif src["category"] == "apple_silicon":
        options = [int(x) for x in re.search(r"Memory options: ([\d/]+) GB", src["notes"]).group(1).split("/")]
        assert row["memory_bytes"] // GIB in options
        assert max(options) == int(src["memory_published"])
    else:
        assert row["memory_bytes"] * per_gcd == int(float(src["memory_published"])) * GIB
        assert row["memory_bandwidth_gbps"] * per_gcd == pytest.approx(number(src["mem_bandwidth_GBps"]))
    if src["memory_published"]:
        assert row["memory_bandwidth_gbps"] * per_gcd == pytest.approx(number(src["mem_bandwidth_GBps"]))
        assert row["fp16_tflops"] * per_gcd == pytest.approx(number(src["fp16_dense_tflops"]))
        assert row["bf16_tflops"] * per_gcd == pytest.approx(number(src["bf16_dense_tflops"]))
        assert row["int8_tops"] * per_gcd == pytest.approx(number(src["int8_dense_tops"]))
        assert row["fp8_tflops"] * per_gcd == pytest.approx(number(src["fp8_dense_tflops"]))
        assert row["release_year"] == int(src["release_year"])
    if src["observed_total_MiB"]:
        assert row["usable_bytes"] == int(src["observed_total_MiB"]) * MIB
    if src["category"] == "cloud_instance":
        assert row["usd_per_hour"] == pytest.approx(float(src["usd_per_hour"]))
        assert row["count"] == max(1, int(src["gpu_count"]))
        assert row["host_ram_bytes"] == pytest.approx(float(src["host_ram_GiB"]) * GIB, rel=1e-9)
        assert row["kind"] == "device_kind::cloud_instance"


def test_memory_rules_match_published_values():
    # ggml-metal's recommendedMaxWorkingSetSize logs (MiB) and nvidia-smi totals
    assert ROWS["m1_16gb"]["usable_bytes"] / MIB == pytest.approx(10922.67, abs=0.01)
    assert ROWS["m2_max_96gb"]["usable_bytes"] / MIB == 73728
    assert ROWS["t4"]["usable_bytes"] / MIB == 15360
    assert ROWS["l40s"]["usable_bytes"] / MIB == 46068
    assert abs(RULES["ecc_on_gddr"](48 * GIB) / MIB - 46068) < 32  # the rule is within 32 MiB of nvidia-smi


def test_free_notebooks_cost_nothing_and_paid_instances_do():
    for ident in ("colab_free_t4", "kaggle_p100", "kaggle_t4x2"):
        assert ROWS[ident]["usd_per_hour"] == 0
    for ident in ("aws_p3_2xlarge", "aws_g5_xlarge", "aws_g4dn_xlarge", "aws_t3_2xlarge", "gcp_n1_standard_8_v100",
                  "gcp_n1_standard_8_t4", "azure_nc6s_v3", "azure_nc4as_t4_v3"):
        assert ROWS[ident]["usd_per_hour"] > 0
