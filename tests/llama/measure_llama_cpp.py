#!/usr/bin/env python3
"""Measures what the real llama.cpp allocates for a matrix of models and
context settings, and writes it as CSV (the golden file
tests/data/llama_cpp/dry_run.csv is this script's output).

For each model of make_sparse_gguf.py and each recipe it writes the sparse
GGUF, then runs llama_dry_run (tests/llama/llama_dry_run.cpp, built against
llama.cpp's headers and libllama.so) on the settings below: the model loaded
with no_alloc on the CPU backend, one context per setting.

Usage: measure_llama_cpp.py --harness PATH --lib-dir DIR --out FILE.csv
                            [--work DIR] [--models a,b] [--quick]
--quick measures a few settings per model (the live CTest run).
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_sparse_gguf  # noqa: E402

COLUMNS = ["model", "recipe", "n_ctx", "n_batch", "n_ubatch", "n_seq_max", "kv_unified", "type_k", "type_v",
           "flash_attn", "swa_full", "weights", "k", "v", "kv_total", "compute", "flash_attn_resolved",
           "kv_cells", "weights_extra_bufts"]


def setting(n_ctx, fa="on", tk="f16", tv=None, n_batch=2048, n_ubatch=512, n_seq=1, unified=0, swa_full=0):
    return (n_ctx, n_batch, n_ubatch, n_seq, unified, tk, tv or tk, fa, swa_full)


def full_matrix():
    s = []
    for ctx in (512, 2048, 4096, 8192, 32768, 131072):
        for fa in ("on", "off"):
            s.append(setting(ctx, fa))
    for tk in ("q8_0", "q4_0"):
        for ctx in (4096, 32768):
            s.append(setting(ctx, "on", tk))
    s.append(setting(8192, "off", "q8_0", "f16"))
    s.append(setting(8192, "on", "q8_0", "f16"))
    s.append(setting(8192, "on", "f16", "q4_0"))
    s.append(setting(8192, "off", "f16", "q8_0"))  # quantized V without flash attention: refused
    for ub in (128, 256, 1024, 2048):
        for fa in ("on", "off"):
            s.append(setting(8192, fa, n_ubatch=ub))
    s.append(setting(8192, "on", n_batch=512, n_ubatch=512))
    s.append(setting(300, "off"))  # n_ctx not a multiple of 256, below n_batch
    s.append(setting(5000, "on"))
    for n_seq in (2, 4, 8):
        for unified in (0, 1):
            for fa in ("on", "off"):
                s.append(setting(16384, fa, n_seq=n_seq, unified=unified))
    for ctx in (2048, 4096, 32768):
        s.append(setting(ctx, "auto"))
        s.append(setting(ctx, "on", swa_full=1))
        s.append(setting(ctx, "off", swa_full=1))
    return s


def small_matrix():
    return [setting(4096, "on"), setting(4096, "off"), setting(32768, "on", "q8_0")]


def quick_matrix():
    # a subset of full_matrix(), so a live run can be compared with the golden rows too
    return [setting(4096, "on"), setting(8192, "off", n_ubatch=256), setting(16384, "off", n_seq=4),
            setting(32768, "on", "q8_0")]


RECIPES = {"q4_k_m": full_matrix, "f16": small_matrix, "q8_0": small_matrix}


def run(harness, lib_dir, gguf, settings, extra_bufts=False, may_fail=False):
    text = "".join(" ".join(str(x) for x in st) + "\n" for st in settings)
    cmd = [harness, "measure", str(gguf)] + (["--extra-bufts"] if extra_bufts else [])
    env = dict(os.environ, LLAMA_DRY_RUN_LIB_DIR=str(lib_dir))
    res = subprocess.run(cmd, input=text, capture_output=True, text=True, env=env)
    if res.returncode != 0 and may_fail:
        return None
    if res.returncode != 0:
        sys.exit(f"measure_llama_cpp: {' '.join(cmd)} failed ({res.returncode}): {res.stderr[-2000:]}")
    lines = [ln.split() for ln in res.stdout.splitlines() if ln.strip()]
    assert len(lines) == len(settings), (len(lines), len(settings), res.stderr[-2000:])
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--harness", required=True)
    ap.add_argument("--lib-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--work")
    ap.add_argument("--models", default=",".join(make_sparse_gguf.MODELS))
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="qmath-gguf-"))
    recipes = {"q4_k_m": quick_matrix, "f16": lambda: quick_matrix()[:1]} if args.quick else RECIPES
    rows = []
    for key in args.models.split(","):
        gen = subprocess.run([sys.executable, str(HERE / "make_sparse_gguf.py"), str(work), "--harness",
                              args.harness, "--models", key, "--recipes", ",".join(recipes)],
                             check=True, capture_output=True, text=True)
        for line in gen.stdout.splitlines():
            model, recipe, path = line.split()
            settings = recipes[recipe]()
            measured = run(args.harness, args.lib_dir, path, settings)
            # the CPU backend's extra buffer types (repacked and AMX weights): llama.cpp's default;
            # empty where llama.cpp aborts on them in a dry run (DeepSeek-V2's 3-D attn_k_b)
            extra = run(args.harness, args.lib_dir, path, settings[:1], extra_bufts=True, may_fail=True)
            extra = extra[0][9] if extra else ""
            for m in measured:
                base = [model, recipe] + m[:9]
                if m[9] == "refused":
                    rows.append(base + ["refused"] + [""] * 7)
                else:
                    rows.append(base + m[9:16] + [extra])
            print(f"{model} {recipe}: {len(measured)} settings", file=sys.stderr, flush=True)
            os.unlink(path)
    with open(args.out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows(rows)


if __name__ == "__main__":
    main()
