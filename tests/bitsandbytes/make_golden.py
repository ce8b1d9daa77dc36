#!/usr/bin/env python3
"""Golden files written by the real bitsandbytes (CPU) for qmath's bit-exact tests.

    python make_golden.py [--out DIR]      (default: tests/data/bitsandbytes)

Needs torch and bitsandbytes (>= 0.46, whose CPU backend quantizes in
backends/default/ops.py and dequantizes in its native CPU library). CI has
neither, so the files are committed and tests/runtime/test_bnb_golden.cpp
reads them; tests/bitsandbytes/CMakeLists.txt reruns this script when torch is
importable and checks the fresh files too.

Layout: DIR/cases.txt, one case per line, `key=value` fields:
    name kind code blocksize n [dtype]
  kind quantize4: NAME.in.f32 (n floats) quantized by bnb.functional.quantize_4bit
                  -> NAME.packed.u8, NAME.absmax.f32; dequantized back by
                  dequantize_4bit -> NAME.out.f32 (and NAME.out.bf16 when dtype=bf16)
  kind dequant4:  NAME.packed.u8 (random) and NAME.absmax.f32 (adversarial)
                  dequantized with the stored code table -> NAME.out.f32 / .bf16
and DIR/code_nf4.f32, code_fp4.f32: the quant_map of each QuantState.
All files are raw little-endian arrays.
"""
import argparse
import os
import sys

# bitsandbytes' CPU backend looks for a kernel on the model hub at import; the
# golden files need only its local code, so never reach the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

try:
    import numpy as np
    import torch
    import bitsandbytes as bnb
    import bitsandbytes.functional as F
except ImportError as exc:  # the CTest wrapper turns exit code 77 into SKIPPED
    print(f"SKIPPED: torch/bitsandbytes not importable ({exc})")
    sys.exit(77)

f32 = np.float32


def nextafter(x, toward):
    return np.nextafter(f32(x), f32(toward))


def pivot_block(code, blocksize):
    """A block of absmax 1 whose values sit on, just below and just above every
    float32 midpoint (the CPU rule's bounds) and every kernels.cu pivot, both signs."""
    table = F.get_4bit_type(code, device="cpu").numpy()
    s = np.sort(table)
    mids = ((s[:-1] + s[1:]) / f32(2)).astype(f32)
    cuda_pivots = {
        "nf4": [-0.8480964004993439, -0.6106329262256622, -0.4599952697753906, -0.33967943489551544,
                -0.23460740596055984, -0.13791173323988914, -0.045525018125772476, 0.03979014977812767,
                0.1202552504837513, 0.2035212516784668, 0.2920137718319893, 0.3893125355243683,
                0.5016634166240692, 0.6427869200706482, 0.8614784181118011],
        "fp4": [0.00260417, 0.0859375, 0.20833333, 0.29166667, 0.4166667, 0.583333, 0.8333333],
    }[code]
    vals = [f32(1.0)]
    for p in list(mids) + [f32(p) for p in cuda_pivots]:
        for v in (p, nextafter(p, -2), nextafter(p, 2)):
            vals += [f32(v), f32(-v)]
    vals += [f32(0.0), f32(-0.0), f32(1e-30), f32(-1e-30), f32(1e-40), f32(-1e-40)]
    vals += [f32(-1.0), nextafter(1.0, 0), nextafter(-1.0, 0)]
    out = np.zeros(-(-len(vals) // blocksize) * blocksize, dtype=f32)
    out[: len(vals)] = vals
    for b in range(0, out.size, blocksize):  # every block has absmax exactly 1
        out[b] = f32(1.0)
    return out


def datasets(code, rng):
    """(name, blocksize, values) cases."""
    cases = []
    cases.append(("gauss_b64", 64, rng.standard_normal(1024).astype(f32)))
    cases.append(("gauss_b128_partial_odd", 128, rng.standard_normal(2 * 128 + 37).astype(f32)))
    cases.append(("gauss_b4096", 4096, (rng.standard_normal(4096) * 0.02).astype(f32)))
    cases.append(("pivots_b64", 64, pivot_block(code, 64)))
    t = rng.standard_t(3, 1024).astype(f32)
    cases.append(("student_t3_b64", 64, t))
    # Tiny and subnormal scales: absmax below 1e-38 (the divisor clamp), between 1e-38 and the
    # smallest normal float, and all-zero blocks, full and partial.
    tiny = np.concatenate([
        rng.standard_normal(64) * f32(1e-39),
        rng.standard_normal(64) * f32(5e-39) + f32(0),
        np.full(64, f32(1.1e-38)) * rng.choice([f32(1), f32(-1)], 64),
        np.zeros(64, dtype=f32),
        rng.standard_normal(64) * f32(1e-3),
        np.zeros(21, dtype=f32),
    ]).astype(f32)
    cases.append(("tiny_b64_partial_zero", 64, tiny))
    sub = np.concatenate([rng.standard_normal(64) * f32(2e-38), np.zeros(33, dtype=f32)]).astype(f32)
    sub[64] = f32(1e-41)
    cases.append(("subnormal_partial_b64", 64, sub))
    return cases


def generated(n, seed):
    """Weights computed the same way by test_bnb_golden.cpp (so they need not be stored):
    u = ((i * 2654435761 + seed) mod 2^32) / 2^32, x = f32(2u - 1) * f32(2^(k - 8)) with
    k = ((i / 64) * 40503 + seed) mod 16, a scale per 64 values (exact in double, one rounding)."""
    i = np.arange(n, dtype=np.uint64)
    h = (i * np.uint64(2654435761) + np.uint64(seed)) % np.uint64(2 ** 32)
    u = h.astype(np.float64) / 2.0 ** 32
    k = ((i // np.uint64(64)) * np.uint64(40503) + np.uint64(seed)) % np.uint64(16)
    scale = np.ldexp(np.ones(n), k.astype(np.int64) - 8).astype(f32)
    return ((2.0 * u - 1.0).astype(f32) * scale).astype(f32)


def fnv1a64(floats):
    """FNV-1a over the float32 bit patterns, one 32-bit word at a time."""
    h = 0xCBF29CE484222325
    for word in np.ascontiguousarray(floats, dtype=f32).view(np.uint32).tolist():
        h = ((h ^ word) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def double_quant_cases(out, rng):
    """quantize_4bit(compress_statistics=True) on generated weights: every stored field, the
    plain absmax (compress_statistics=False), the restored absmax and a hash of the output."""
    lines = []
    for code, n, seed in (("nf4", 64 * 520, 11), ("fp4", 64 * 300, 12), ("nf4", 64 * 37, 13)):
        x = generated(n, seed)
        t = torch.from_numpy(x.copy())
        q, st = F.quantize_4bit(t, blocksize=64, quant_type=code, compress_statistics=True)
        _, plain = F.quantize_4bit(t, blocksize=64, quant_type=code, compress_statistics=False)
        restored = F.dequantize_blockwise(st.absmax, st.state2) + st.offset
        y = F.dequantize_4bit(q, st).numpy().reshape(-1)
        name = f"{code}_dq_{n}_{seed}"
        write(os.path.join(out, f"{name}.packed.u8"), q.numpy().reshape(-1))
        write(os.path.join(out, f"{name}.qabsmax.u8"), st.absmax.numpy())
        write(os.path.join(out, f"{name}.absmax2.f32"), st.state2.absmax.numpy())
        write(os.path.join(out, f"{name}.code2.f32"), st.state2.code.numpy())
        write(os.path.join(out, f"{name}.absmax.f32"), plain.absmax.numpy())
        write(os.path.join(out, f"{name}.restored.f32"), restored.numpy())
        offset_bits = int(np.array([st.offset.item()], dtype=f32).view(np.uint32)[0])
        lines.append(f"name={name} kind=dq code={code} blocksize=64 n={n} seed={seed} "
                     f"offset=0x{offset_bits:08x} threads={torch.get_num_threads()} out_fnv1a64=0x{fnv1a64(y):016x}")
    return lines


def blockwise8_cases(out, rng):
    """quantize_blockwise(blocksize=256) with the dynamic map on a CPU: values on the edges of its
    65536 bins and around the codes near 0 (closer together than a bin), random, zero and partial."""
    code = F.create_dynamic_map().numpy()
    blocks = []
    edges = ((rng.integers(1, 65535, 85) - 0.5) / 65535.0 * 2.0 - 1.0).astype(f32)
    vals = [f32(1.0)]
    for e in edges:
        vals += [np.nextafter(e, f32(-2)), e, np.nextafter(e, f32(2))]
    blocks.append(np.array(vals[:256], dtype=f32))
    near0 = np.concatenate([[f32(1.0)], code[100:155], (code[100:154] + code[101:155]) / f32(2),
                            rng.standard_normal(146).astype(f32) * f32(1e-4)]).astype(f32)
    blocks.append(near0[:256])
    blocks.append(rng.standard_normal(256).astype(f32))
    blocks.append(np.zeros(256, dtype=f32))
    blocks.append((rng.standard_normal(100) * 0.01).astype(f32))  # a partial last block
    x = np.concatenate(blocks).astype(f32)
    q, st = F.quantize_blockwise(torch.from_numpy(x.copy()), code=torch.from_numpy(code.copy()), blocksize=256)
    name = "blockwise8_cpu"
    write(os.path.join(out, f"{name}.in.f32"), x)
    write(os.path.join(out, f"{name}.q.u8"), q.numpy())
    write(os.path.join(out, f"{name}.absmax.f32"), st.absmax.numpy())
    return [f"name={name} kind=blockwise8 blocksize=256 n={x.size}"]


def torch_sum_cases():
    """torch's float32 sum and mean on a CPU of generated |values| (the offset of double
    quantization is such a mean), below and above the 32768-element parallel grain."""
    lines = []
    for n, seed in ((1, 1), (7, 2), (100, 3), (1000, 4), (32768, 5), (32769, 6), (100000, 7), (1000003, 8)):
        x = np.abs(generated(n, seed))
        t = torch.from_numpy(x)
        total = np.array([t.sum().item()], dtype=f32).view(np.uint32)[0]
        mean = np.array([t.mean().item()], dtype=f32).view(np.uint32)[0]
        lines.append(f"name=sum_{n} kind=torch_sum n={n} seed={seed} threads={torch.get_num_threads()} "
                     f"sum=0x{int(total):08x} mean=0x{int(mean):08x}")
    return lines


def int8_cases(out, rng):
    """int8_vectorwise_quant / int8_vectorwise_dequant (LLM.int8) on a CPU: rows whose values sit
    on .5 ties of a * 127 / row_stat, random rows, tiny and zero rows, and outliers (threshold 6)."""
    rows, cols = 48, 96
    a = (rng.standard_normal((rows, cols)) * rng.uniform(0.01, 1.2, (rows, 1))).astype(f32)
    for r in range(0, 24):  # ties: a = (k + 0.5) * s / 127, so a * scale is a tie or an ulp off one
        s_ = f32(rng.uniform(0.5, 3.0))
        k = rng.integers(-126, 126, cols)
        a[r] = ((k + 0.5) * float(s_) / 127.0).astype(f32)
        a[r, 0] = s_
    a[24, :] = 0.0
    a[25, :] = (rng.standard_normal(cols) * 1e-38).astype(f32)  # 1 / row_stat * 127 overflows
    a[26, :] = (rng.standard_normal(cols) * 3e-37).astype(f32)
    a[27, :] = (rng.standard_normal(cols) * 1e-39).astype(f32)  # 1 / row_stat overflows
    a[28, :] = (rng.standard_normal(cols) * 1e-36).astype(f32)
    lines = []
    for threshold in (0.0, 6.0):
        x = a.copy()
        if threshold > 0:
            x[30, 5] = f32(7.5)
            x[31, 5] = f32(-6.0)
            x[33, 90] = f32(3e4)
            x[35, 40:43] = f32(8.0)
        q, stats, outlier_cols = F.int8_vectorwise_quant(torch.from_numpy(x.copy()), threshold=threshold)
        y = torch.ops.bitsandbytes.int8_vectorwise_dequant.default(q, stats)
        name = f"int8_t{int(threshold)}"
        write(os.path.join(out, f"{name}.in.f32"), x)
        write(os.path.join(out, f"{name}.q.i8"), q.numpy())
        write(os.path.join(out, f"{name}.stats.f32"), stats.numpy())
        write(os.path.join(out, f"{name}.out.f32"), y.numpy())
        cols_text = ",".join(str(int(c)) for c in outlier_cols.tolist()) if outlier_cols is not None else ""
        lines.append(f"name={name} kind=int8 rows={rows} cols={cols} threshold={threshold} "
                     f"outlier_cols={cols_text or '-'}")
    return lines


def write(path, array):
    np.ascontiguousarray(array).tofile(path)


def bf16_bits(t):
    return t.contiguous().view(torch.int16).numpy().view(np.uint16)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(here, "..", "data", "bitsandbytes"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(20261207)
    lines = [f"# written by tests/bitsandbytes/make_golden.py with bitsandbytes {bnb.__version__}, torch "
             f"{torch.__version__.split('+')[0]}"]
    for code in ("nf4", "fp4"):
        write(os.path.join(args.out, f"code_{code}.f32"), F.get_4bit_type(code, device="cpu").numpy())
        for name, blocksize, x in datasets(code, rng):
            full = f"{code}_{name}"
            q, state = F.quantize_4bit(torch.from_numpy(x.copy()), blocksize=blocksize, quant_type=code)
            assert state.code.numpy().tobytes() == F.get_4bit_type(code, device="cpu").numpy().tobytes()
            y = F.dequantize_4bit(q, state)
            yb = F.dequantize_4bit(q, state.__class__(absmax=state.absmax, shape=state.shape, code=state.code,
                                                      blocksize=blocksize, quant_type=code, dtype=torch.bfloat16))
            write(os.path.join(args.out, f"{full}.in.f32"), x)
            write(os.path.join(args.out, f"{full}.packed.u8"), q.numpy().reshape(-1))
            write(os.path.join(args.out, f"{full}.absmax.f32"), state.absmax.numpy())
            write(os.path.join(args.out, f"{full}.out.f32"), y.numpy().reshape(-1))
            write(os.path.join(args.out, f"{full}.out.bf16"), bf16_bits(yb).reshape(-1))
            lines.append(f"name={full} kind=quantize4 code={code} blocksize={blocksize} n={x.size}")
        # Dequantize random codes with adversarial scales through both of bnb's CPU paths: the
        # native library (blocksize < 2048, even last dimension) and the torch fallback.
        for blocksize, shape in ((64, (8, 128)), (64, (128, 7)), (2048, (2, 2048))):
            n = shape[0] * shape[1]
            packed = rng.integers(0, 256, n // 2 + n % 2, dtype=np.uint8)
            blocks = -(-n // blocksize)
            absmax = np.abs(rng.standard_normal(blocks)).astype(f32)
            special = [0.0, -0.0, 1e-40, 1e-38, 1.2e-38, -1.5, 3e38, 1e-36, 5e-39, 2.0]
            absmax[: min(blocks, len(special))] = np.array(special[:blocks], dtype=f32)
            state = F.QuantState(absmax=torch.from_numpy(absmax), shape=torch.Size(shape),
                                 code=F.get_4bit_type(code, device="cpu"), blocksize=blocksize, quant_type=code,
                                 dtype=torch.float32)
            y = F.dequantize_4bit(torch.from_numpy(packed).view(-1, 1), state)
            state.dtype = torch.bfloat16
            yb = F.dequantize_4bit(torch.from_numpy(packed).view(-1, 1), state)
            full = f"{code}_dequant_b{blocksize}_{shape[0]}x{shape[1]}"
            write(os.path.join(args.out, f"{full}.packed.u8"), packed)
            write(os.path.join(args.out, f"{full}.absmax.f32"), absmax)
            write(os.path.join(args.out, f"{full}.out.f32"), y.numpy().reshape(-1))
            write(os.path.join(args.out, f"{full}.out.bf16"), bf16_bits(yb).reshape(-1))
            lines.append(f"name={full} kind=dequant4 code={code} blocksize={blocksize} n={n} "
                         f"rows={shape[0]} cols={shape[1]}")
    write(os.path.join(args.out, "code_dynamic.f32"), F.create_dynamic_map().numpy())
    lines += double_quant_cases(args.out, rng)
    lines += blockwise8_cases(args.out, rng)
    lines += torch_sum_cases()
    lines += int8_cases(args.out, rng)
    with open(os.path.join(args.out, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines) - 1} cases to {args.out}")


if __name__ == "__main__":
    main()
