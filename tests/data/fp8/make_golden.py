#!/usr/bin/env python3
"""Golden files for FP8 checkpoints, written by transformers' own FP8 code on a CPU.

    python make_golden.py [--out DIR]      (default: this directory)

Quantize: transformers.integrations.finegrained_fp8.Fp8Quantize._quantize_one (the
rule transformers saves FP8 checkpoints with; weight_block_size [128, 128], [1, cols]
for per-channel, the whole matrix for per-tensor). A shape the block does not divide
is quantized as its zero-padded matrix and cropped (transformers passes it through).
Dequantize: Fp8Dequantize._dequantize_one (load path) to float32 and bfloat16; for a
grid with partial edge blocks, _dequantize_fp8_weight to float32 and DeepSeek-V3's
weight_dequant rule (the float32 product, then bfloat16) written out with torch ops.

DIR/cases.txt lists `name kind rows cols block_rows block_cols ...`; NAME.q.u8 (e4m3
codes), NAME.scale.f32 (the scale grid); the input is generated (seed, scale: see
generated()) or stored as NAME.in.f32; the dequantized floats are checked by an FNV-1a
hash (out_fnv1a64, bf16_fnv1a64), except for `codes`, stored as NAME.out.f32 / .bf16.
Read by tests/runtime/test_fp8_checkpoint.cpp. Exit 77 when torch or transformers
cannot be imported.
"""
import argparse
import os
import sys
import types

os.environ.setdefault("HF_HUB_OFFLINE", "1")
try:
    import numpy as np
    import torch
    import transformers
    from transformers.integrations.finegrained_fp8 import Fp8Dequantize, Fp8Quantize, _dequantize_fp8_weight
except ImportError as exc:
    print(f"SKIPPED: torch/transformers not importable ({exc})")
    sys.exit(77)

f32 = np.float32


def quantizer(block):
    config = types.SimpleNamespace(weight_block_size=list(block), scale_fmt=None)
    return Fp8Quantize(types.SimpleNamespace(quantization_config=config))


def quantize(x, block):
    rows, cols = x.shape
    br, bc = block
    pr, pc = -(-rows // br) * br, -(-cols // bc) * bc
    padded = torch.zeros((pr, pc), dtype=torch.float32)
    padded[:rows, :cols] = torch.from_numpy(x)
    out = quantizer(block)._quantize_one("w.weight", padded)
    return out["w.weight"][:rows, :cols].contiguous(), out["w.weight_scale_inv"]


def dequantize(q, scale, block):
    rows, cols = q.shape
    if rows % block[0] == 0 and cols % block[1] == 0:
        deq = Fp8Dequantize(types.SimpleNamespace(quantization_config=None))
        return (deq._dequantize_one(q, scale, output_dtype=torch.float32),
                deq._dequantize_one(q, scale, output_dtype=torch.bfloat16))
    y = _dequantize_fp8_weight(q, scale, list(block), torch.float32)
    s = scale.repeat_interleave(block[0], dim=0)[:rows].repeat_interleave(block[1], dim=1)[:, :cols]
    yb = (q.to(torch.float32) * s).to(torch.bfloat16)  # DeepSeek-V3 inference/kernel.py weight_dequant
    return y, yb


GENERATED = {"block128": (1, "0.02"), "block128_partial": (2, "0.05"), "per_channel": (3, "1.0"),
             "per_tensor": (4, "0.3")}


def generated(shape, seed, scale):
    """Weights test_fp8_checkpoint.cpp computes the same way (so they need not be stored):
    u = ((i * 2654435761 + seed) mod 2^32) / 2^32, x = f32(2u - 1) * f32(2^(k - 8)) * f32(scale),
    k = ((i / 64) * 40503 + seed) mod 16 (a scale per 64 values), each product rounded to f32."""
    n = shape[0] * shape[1]
    i = np.arange(n, dtype=np.uint64)
    h = (i * np.uint64(2654435761) + np.uint64(seed)) % np.uint64(2 ** 32)
    u = h.astype(np.float64) / 2.0 ** 32
    k = ((i // np.uint64(64)) * np.uint64(40503) + np.uint64(seed)) % np.uint64(16)
    step = np.ldexp(np.ones(n), k.astype(np.int64) - 8).astype(f32)
    x = ((2.0 * u - 1.0).astype(f32) * step).astype(f32) * f32(scale)
    return x.astype(f32).reshape(shape)


def generated_fields(name):
    if name not in GENERATED:
        return ""
    seed, scale = GENERATED[name]
    return f"seed={seed} scale={scale} "


def fnv1a64(values):
    """FNV-1a over the values' bit patterns, one element (32 or 16 bits) at a time."""
    width = np.uint32 if values.dtype.itemsize == 4 else np.uint16
    h = 0xCBF29CE484222325
    for word in np.ascontiguousarray(values).reshape(-1).view(width).tolist():
        h = ((h ^ word) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def write(path, array):
    np.ascontiguousarray(array).tofile(path)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=here)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(20261207)
    cases = [  # (name, input, block, store the input?)
        ("block128", generated((128, 256), 1, 0.02), (128, 128), False),
        ("block128_partial", generated((130, 260), 2, 0.05), (128, 128), False),
        ("per_channel", generated((48, 160), 3, 1.0), (1, 160), False),
        ("per_tensor", generated((64, 96), 4, 0.3), (64, 96), False),
    ]
    hostile = np.zeros((64, 64), dtype=f32)
    hostile[:32, :32] = (rng.standard_normal((32, 32)) * 1e37).astype(f32)
    hostile[0, 0], hostile[5, 7] = f32(3e38), f32(-3.4028235e38)  # huge, up to FLT_MAX
    hostile[:32, 32:] = (rng.standard_normal((32, 32)) * 4e-40).astype(f32)  # max below 2.9e-39
    hostile[3, 40] = f32(0.0)
    ties = (rng.integers(-64, 64, (32, 32)) / 16.0 + 1 / 64.0).astype(f32)  # e4m3 ties once scaled
    ties[0, 0] = f32(448.0 / 64.0)
    hostile[32:, 32:] = ties
    hostile[40, 3] = f32(1e-30)  # a block of zeros and one tiny value
    cases.append(("hostile", hostile, (32, 32), True))
    lines = [f"# written by tests/data/fp8/make_golden.py with transformers {transformers.__version__}, "
             f"torch {torch.__version__.split('+')[0]}"]
    for name, x, block, store_input in cases:
        q, scale = quantize(x, block)
        y, yb = dequantize(q, scale, block)
        if store_input:
            write(os.path.join(args.out, f"{name}.in.f32"), x)
        write(os.path.join(args.out, f"{name}.q.u8"), q.view(torch.uint8).numpy())
        write(os.path.join(args.out, f"{name}.scale.f32"), scale.numpy())
        lines.append(f"name={name} kind=quantize rows={x.shape[0]} cols={x.shape[1]} "
                     f"block_rows={block[0]} block_cols={block[1]} input={'file' if store_input else 'generated'} "
                     f"{generated_fields(name)}out_fnv1a64=0x{fnv1a64(y.numpy()):016x} "
                     f"bf16_fnv1a64=0x{fnv1a64(yb.view(torch.int16).numpy().view(np.uint16)):016x}")
    # Every code times adversarial scales (0, subnormal, negative, huge so the product overflows, NaN).
    q = torch.from_numpy(np.tile(np.arange(256, dtype=np.uint8), (16, 1)).reshape(16, 256)).view(torch.float8_e4m3fn)
    scale = np.array([[1.0, 0.5], [0.0, -0.0], [1e-40, 2.5e-3], [-3.0, 7.0], [3e38, 1e38], [np.nan, 1e-20],
                      [np.inf, 1.1754944e-38], [0.0078125, 1234.5]], dtype=f32)
    scale_t = torch.from_numpy(scale)
    y, yb = dequantize(q, scale_t, (2, 128))
    write(os.path.join(args.out, "codes.q.u8"), q.view(torch.uint8).numpy())
    write(os.path.join(args.out, "codes.scale.f32"), scale)
    write(os.path.join(args.out, "codes.out.f32"), y.numpy())
    write(os.path.join(args.out, "codes.out.bf16"), yb.view(torch.int16).numpy().view(np.uint16))
    lines.append("name=codes kind=dequantize rows=16 cols=256 block_rows=2 block_cols=128")
    with open(os.path.join(args.out, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines) - 1} cases to {args.out}")


if __name__ == "__main__":
    main()
