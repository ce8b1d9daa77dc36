#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets: python3 fuzz/write_seeds.py DIR

One folder per target, DIR/<target>/, one file per seed. The seeds follow
each target's input layout (see the comment at the top of fuzz/fuzz_*.cpp)
so that the fuzzer starts from valid calls and mutates them. Fixed seeds:
the corpora are the same on every run. A target without a writer here starts
from an empty corpus; add a function to WRITERS for it.
"""
import os
import random
import struct
import sys


def floats(rng, n, kind):
    if kind == 0:  # Student-t-like heavy tails: LLM weights
        return [rng.gauss(0, 1) / max(abs(rng.gauss(0, 1)), 0.05) for _ in range(n)]
    if kind == 1:  # a ramp
        return [i / 16.0 - 4 for i in range(n)]
    return [0.0] * n  # all zero


def kernels(rng):
    """fuzz_kernels: entry, size mode, block count (u16), quantize flag, payload."""
    seeds = []
    for entry in range(32):
        for blocks in (1, 2, 5):
            for quantize in (0, 1):
                head = bytes([entry, 0]) + struct.pack("<H", blocks) + bytes([quantize])
                if quantize:
                    payload = struct.pack("<%df" % 64, *floats(rng, 64, blocks % 3))
                else:
                    payload = bytes(rng.randrange(256) for _ in range(96))
                seeds.append(head + payload)
    # a few size mismatches and huge lengths
    for entry in range(32):
        for mode in (1, 2, 3, 4):
            seeds.append(bytes([entry, mode, 3, 0, 1]) + bytes(rng.randrange(256) for _ in range(64)))
    return seeds


def estimators(rng):
    """fuzz_estimators: entry, then the fields; a catalog model, device and runtime as they are."""
    seeds = []
    for entry in range(7):
        for model in range(25):
            body = bytes([entry, model, 1])  # catalog model, unchanged
            body += bytes(rng.randrange(256) for _ in range(120))
            seeds.append(body)
    return seeds


WRITERS = {"fuzz_kernels": kernels, "fuzz_estimators": estimators}


def main():
    out = sys.argv[1]
    for name, writer in WRITERS.items():
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        rng = random.Random(20261207)
        for i, seed in enumerate(writer(rng)):
            with open(os.path.join(folder, "seed-%04d" % i), "wb") as f:
                f.write(seed)


if __name__ == "__main__":
    main()
