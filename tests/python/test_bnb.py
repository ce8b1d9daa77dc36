"""bitsandbytes NF4/FP4 (+ double quantization), LLM.int8 and GPTQ/AWQ INT4:
qmath against numpy reimplementations written here from the published sources.

torch and bitsandbytes are not installed here (the PyPI torch wheel pulls the
CUDA libraries), so every reference below is numpy, transcribed from:
  * bitsandbytes backends/default/ops.py (quantize_4bit / dequantize_4bit: the
    pure-torch fallback; int8_vectorwise_quant), functional.py (get_4bit_type,
    create_dynamic_map, quantize_4bit with compress_statistics), csrc/kernels.cu
    (dQuantizeFP4, dQuantize<0>, kQuantizeBlockwise);
  * torch's CPU linspace (aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp);
  * AutoGPTQ qlinear_cuda_old.py pack() / forward unpacking and quantizer.py;
  * AutoAWQ awq/modules/linear/gemm.py from_linear, awq/utils/packing_utils.py
    (unpack_awq, reverse_awq_order, dequantize_gemm), awq/quantize/quantizer.py.
The qmath side is the qmath_tool bridge (tests/python/tool_bnb.cpp), in qmath's
single-buffer layouts (include/qmath/formats/bnb_4bit.hpp, bnb_int8.hpp,
group_int4.hpp).
"""
from fractions import Fraction

import numpy as np
import pytest

f32 = np.float32

NF4 = np.array([-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
                -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
                0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
                0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0], dtype=f32)
# get_4bit_type("fp4"): the Python list holds the integer -0, which is +0.0.
FP4 = (np.array([0, 0.0625, 8.0, 12.0, 4.0, 6.0, 2.0, 3.0, -0, -0.0625, -8.0, -12.0, -4.0, -6.0, -2.0, -3.0],
                dtype=f32) / f32(12.0)).astype(f32)
FP4_RANK_TO_BITS = np.array([0b000, 0b001, 0b110, 0b111, 0b100, 0b101, 0b010, 0b011], dtype=np.uint8)
FP4_LUT = [0.0, "0.005208333333", "0.66666667", 1.0, "0.33333333", 0.5, "0.16666667", 0.25]  # kernels.cu


def decimal_f32(text):
    """The float32 nearest to a decimal literal, ties to even, as a C++ or CUDA compiler rounds
    `0.123f` (going through float64 first could round twice)."""
    exact = Fraction(text)
    guess = f32(float(exact))
    candidates = [guess, np.nextafter(guess, f32(np.inf)), np.nextafter(guess, f32(-np.inf))]
    return min(candidates, key=lambda c: (abs(Fraction(float(c)) - exact), int(np.array(c).view(np.uint32)) & 1))


# kernels.cu dQuantizeNF4 / dQuantizeFP4 pivot literals.
NF4_PIVOTS = np.array([decimal_f32(s) for s in (
    "-0.8480964004993439", "-0.6106329262256622", "-0.4599952697753906", "-0.33967943489551544",
    "-0.23460740596055984", "-0.13791173323988914", "-0.045525018125772476", "0.03979014977812767",
    "0.1202552504837513", "0.2035212516784668", "0.2920137718319893", "0.3893125355243683",
    "0.5016634166240692", "0.6427869200706482", "0.8614784181118011")], dtype=f32)
FP4_PIVOTS = np.array([decimal_f32(s) for s in ("0.00260417", "0.0859375", "0.20833333", "0.29166667",
                                                "0.4166667", "0.583333", "0.8333333")], dtype=f32)


# ---------------------------------------------------------------------------
# numpy references

def torch_linspace_f32(start, end, steps):
    """torch.linspace on CPU in float32 (RangeFactoriesKernel.cpp linspace_kernel): step in
    float, start + step*idx below steps/2, end - step*(steps-1-idx) above, each a fused
    multiply-add (checked against bitsandbytes' own table by tests/runtime/test_bnb_golden.cpp)."""
    start, end = f32(start), f32(end)
    step = f32(f32(end - start) / f32(steps - 1))
    out = np.empty(steps, dtype=f32)
    for idx in range(steps):  # fused multiply-adds: exact in float64 here, rounded once
        if idx < steps // 2:
            out[idx] = f32(float(step) * idx + float(start))
        else:
            out[idx] = f32(-float(step) * (steps - idx - 1) + float(end))
    return out


def create_dynamic_map(linspace=torch_linspace_f32, signed=True, max_exponent_bits=7, total_bits=8):
    """functional.py create_dynamic_map, with float32 tensor arithmetic as torch does it."""
    data = []
    non_sign_bits = total_bits - 1
    additional_items = 2 ** (non_sign_bits - max_exponent_bits) - 1
    assert additional_items == 0
    for i in range(max_exponent_bits):
        fraction_items = int(2 ** (i + non_sign_bits - max_exponent_bits) + 1)
        boundaries = linspace(0.1, 1, fraction_items)
        means = ((boundaries[:-1] + boundaries[1:]) / f32(2.0)).astype(f32)
        scale = f32(10 ** (-(max_exponent_bits - 1) + i))  # a float32 tensor times a Python float
        data += list((scale * means).astype(f32))
        data += list((f32(-scale) * means).astype(f32))
    data.append(f32(0))
    data.append(f32(1.0))
    assert len(data) == 2 ** total_bits
    return np.array(sorted(data), dtype=f32)


def numpy_linspace_f32(start, end, steps):
    return np.linspace(start, end, steps).astype(f32)


def encode_4bit(scaled, code):
    """kernels.cu: NF4 counts the pivots strictly below x; FP4 is sign (x < 0) plus the tree on |x|."""
    if code == "nf4":
        return np.searchsorted(NF4_PIVOTS, scaled, side="left").astype(np.uint8)
    rank = np.searchsorted(FP4_PIVOTS, np.abs(scaled), side="left")
    return (FP4_RANK_TO_BITS[rank] | np.where(scaled < 0, 8, 0)).astype(np.uint8)


def flush(x):
    """--use_fast_math (bitsandbytes' CUDA build) flushes subnormals to zero."""
    x = np.asarray(x, dtype=f32)
    return np.where(np.abs(x) < np.finfo(f32).tiny, f32(0), x).astype(f32)


def bnb_quantize_4bit(a, code, blocksize):
    """kQuantizeBlockwise: absmax per block of the flushed values, flush(flush(x) * (1/absmax)),
    the kernels.cu tree, element 2i in the high nibble. A block whose absmax is 0 computes
    0 * inf = NaN, which the tree codes as nibble 0."""
    blocks = flush(a.reshape(-1, blocksize))
    absmax = np.abs(blocks).max(axis=1).astype(f32)
    with np.errstate(divide="ignore"):
        local = np.where(absmax == 0, f32(0), f32(1) / absmax).astype(f32)
    scaled = flush((blocks * local[:, None]).astype(f32)).reshape(-1)
    q = encode_4bit(scaled, code)
    q[np.repeat(absmax == 0, blocksize)] = 0
    return ((q[::2] << 4) | q[1::2]).astype(np.uint8), absmax


def torch_fallback_codes_nf4(scaled):
    """The pure-torch rule with float32 midpoints (code[:-1] + code[1:]) / 2 and bucketize(right=False)."""
    mids = ((NF4[:-1] + NF4[1:]) / f32(2)).astype(f32)
    return np.searchsorted(mids, np.clip(scaled, -1, 1), side="left").astype(np.uint8)


def bnb_dequantize_4bit(packed, absmax, code_table, blocksize):
    q = np.empty(packed.size * 2, dtype=np.uint8)
    q[::2] = packed >> 4
    q[1::2] = packed & 15
    return (code_table[q].reshape(-1, blocksize) * absmax[:, None]).astype(f32).reshape(-1)


def dquantize8(code, x):
    """kernels.cu dQuantize<0>: descent from 127 with bracket tracking, then the midpoint test."""
    pivot, upper_pivot, lower_pivot = 127, 255, 0
    lower, upper = f32(-1.0), f32(1.0)
    val = code[pivot]
    i = 64
    while i > 0:
        if x > val:
            lower_pivot, lower, pivot = pivot, val, pivot + i
        else:
            upper_pivot, upper, pivot = pivot, val, pivot - i
        val = code[pivot]
        i >>= 1
    if upper_pivot == 255:
        upper = code[upper_pivot]
    if lower_pivot == 0:
        lower = code[lower_pivot]
    if x > val:
        return upper_pivot if x > f32(f32(upper + val) * f32(0.5)) else pivot
    return lower_pivot if x < f32(f32(lower + val) * f32(0.5)) else pivot


def compress_statistics(absmax, code, offset):
    """functional.py quantize_4bit(compress_statistics=True): offset = mean(absmax) (torch's
    float32 mean, whose summation order qmath reproduces and tests/runtime/test_bnb_golden.cpp
    checks against torch; here the caller passes it), then 8-bit blockwise quantization of
    absmax - offset with blocksize 256 by the GPU rule (dQuantize<0>, subnormals flushed)."""
    centered = (absmax - offset).astype(f32)
    q = np.empty(centered.size, dtype=np.uint8)
    absmax2 = []
    for start in range(0, centered.size, 256):
        chunk = centered[start:start + 256]
        m = f32(np.abs(chunk).max())
        absmax2.append(m)
        local = f32(0) if m == 0 else f32(f32(1) / m)
        for j, v in enumerate(chunk):
            q[start + j] = dquantize8(code, f32(v * local))
    return q, np.array(absmax2, dtype=f32), offset


def split_bnb_buffer(buf, n, blocksize, dq):
    """qmath's layout (formats/bnb_4bit.hpp)."""
    blocks = n // blocksize
    groups = (blocks + 255) // 256
    raw = np.frombuffer(buf, dtype=np.uint8)
    parts = {"packed": raw[:n // 2]}
    pos = n // 2
    if dq:
        parts["qabsmax"] = raw[pos:pos + blocks]
        pos += blocks
        parts["absmax2"] = raw[pos:pos + 4 * groups].copy().view(f32)
        pos += 4 * groups
        parts["offset"] = raw[pos:pos + 4].copy().view(f32)[0]
        pos += 4
        parts["code"] = raw[pos:pos + 1024].copy().view(f32)
        pos += 1024
    else:
        parts["absmax"] = raw[pos:pos + 4 * blocks].copy().view(f32)
        pos += 4 * blocks
    parts["quant_map"] = raw[pos:pos + 64].copy().view(f32)
    assert pos + 64 == len(buf)
    return parts


def datasets(n):
    rng = np.random.default_rng(20261123)
    yield "normal", rng.standard_normal(n).astype(f32)
    yield "student_t", rng.standard_t(3, n).astype(f32)
    yield "tiny", (rng.standard_normal(n) * 1e-20).astype(f32)
    yield "quarters", (rng.integers(-16, 17, n) / 4).astype(f32)
    sparse = np.where(rng.random(n) < 0.8, 0, rng.standard_normal(n)).astype(f32)
    sparse[:256] = 0  # whole zero blocks
    yield "sparse", sparse


# ---------------------------------------------------------------------------
# tables

def test_code_tables_match_kernels_cu():
    assert np.array_equal(FP4[:8], np.array([decimal_f32(str(v)) if isinstance(v, str) else f32(v)
                                             for v in FP4_LUT], dtype=f32))
    assert np.array_equal(FP4[9:], -FP4[1:8])
    assert not np.signbit(FP4[8])
    # NF4 pivots: every literal is one of the two floats around the exact midpoint; four of them
    # are not the round-to-even float32 midpoint that the torch fallback computes.
    exact = (NF4[:-1].astype(np.float64) + NF4[1:]) / 2
    assert np.all(np.nextafter(NF4_PIVOTS, f32(-2)) < exact) and np.all(np.nextafter(NF4_PIVOTS, f32(2)) > exact)
    mids = ((NF4[:-1] + NF4[1:]) / f32(2)).astype(f32)
    assert list(np.nonzero(NF4_PIVOTS != mids)[0]) == [0, 8, 12, 14]


def test_dynamic_map_matches_torch_float32_linspace(tool):
    """The 256-entry table qmath stores in an nf4-dq buffer is create_dynamic_map with torch's
    float32 linspace. numpy's float64 linspace cast to float32 gives other last bits in 22 of the
    256 entries, so the torch rule is the one that matters."""
    buf = tool.quantize("nf4-dq", np.ones(64 * 4, dtype=f32))
    table = split_bnb_buffer(buf, 256, 64, True)["code"]
    expected = create_dynamic_map()
    assert table.view(np.uint32).tolist() == expected.view(np.uint32).tolist()
    other = create_dynamic_map(numpy_linspace_f32)
    assert np.count_nonzero(other.view(np.uint32) != expected.view(np.uint32)) == 22


# ---------------------------------------------------------------------------
# 4-bit

@pytest.mark.parametrize("name,code,blocksize", [
    ("nf4", "nf4", 64), ("fp4", "fp4", 64), ("nf4-bs32", "nf4", 32), ("fp4-bs4096", "fp4", 4096),
    ("nf4/scalar", "nf4", 64), ("fp4/scalar", "fp4", 64)])
def test_4bit_matches_bitsandbytes_rule(tool, name, code, blocksize):
    table = NF4 if code == "nf4" else FP4
    for label, a in datasets(4096 * 16):
        buf = tool.quantize(name, a)
        parts = split_bnb_buffer(buf, a.size, blocksize, False)
        packed, absmax = bnb_quantize_4bit(a, code, blocksize)
        assert np.array_equal(parts["absmax"], absmax), label
        assert np.array_equal(parts["packed"], packed), label
        assert parts["quant_map"].view(np.uint32).tolist() == table.view(np.uint32).tolist()
        y = tool.dequantize(name, buf, a.size)
        expected = bnb_dequantize_4bit(packed, absmax, table, blocksize)
        assert y.view(np.uint32).tolist() == expected.view(np.uint32).tolist(), label


def test_nf4_against_the_torch_fallback_rule(tool):
    """The torch fallback's float32 midpoints give the same codes as the CUDA literals except for
    a value exactly on the four midpoints where they differ by one ulp."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal(64 * 4096).astype(f32)
    a[::64] = 1.0  # absmax 1: x * local is x
    a[1::64] = np.clip(a[1::64], -1, 1)
    parts = split_bnb_buffer(tool.quantize("nf4", a), a.size, 64, False)
    q = np.empty(a.size, dtype=np.uint8)
    q[::2], q[1::2] = parts["packed"] >> 4, parts["packed"] & 15
    scaled = (a.reshape(-1, 64) * (f32(1) / parts["absmax"])[:, None]).astype(f32).reshape(-1)
    assert np.array_equal(q, torch_fallback_codes_nf4(scaled))
    # On the differing pivots themselves the two rules part.
    mids = ((NF4[:-1] + NF4[1:]) / f32(2)).astype(f32)
    probe = np.zeros(64, dtype=f32)
    probe[0] = 1.0
    probe[2:2 + 8] = np.r_[NF4_PIVOTS[[0, 8, 12, 14]], mids[[0, 8, 12, 14]]]
    parts = split_bnb_buffer(tool.quantize("nf4", probe), 64, 64, False)
    q = np.empty(64, dtype=np.uint8)
    q[::2], q[1::2] = parts["packed"] >> 4, parts["packed"] & 15
    assert np.array_equal(q, encode_4bit(probe, "nf4"))
    assert not np.array_equal(q, torch_fallback_codes_nf4(probe))


@pytest.mark.parametrize("name,code,blocksize", [
    ("nf4-dq", "nf4", 64), ("fp4-dq", "fp4", 64), ("nf4-dq-bs256", "nf4", 256), ("nf4-dq/scalar", "nf4", 64)])
def test_double_quantization(tool, name, code, blocksize):
    table = NF4 if code == "nf4" else FP4
    dmap = create_dynamic_map()
    rng = np.random.default_rng(17)
    a = (rng.standard_normal(blocksize * 700) * rng.uniform(0.1, 3.0, blocksize * 700)).astype(f32)
    buf = tool.quantize(name, a)
    parts = split_bnb_buffer(buf, a.size, blocksize, True)
    packed, absmax = bnb_quantize_4bit(a, code, blocksize)
    assert np.array_equal(parts["packed"], packed)
    offset = f32(parts["offset"])
    assert abs(float(offset) - np.mean(absmax.astype(np.float64))) <= 4 * float(np.spacing(offset))
    q, absmax2, offset = compress_statistics(absmax, dmap, offset)
    assert np.array_equal(parts["absmax2"], absmax2)
    assert np.array_equal(parts["qabsmax"], q)
    # functional.py dequantize_4bit: absmax = dequantize_blockwise(qabsmax, state2) + offset (float32).
    restored = ((dmap[q] * np.repeat(absmax2, 256)[:q.size]).astype(f32) + offset).astype(f32)
    y = tool.dequantize(name, buf, a.size)
    expected = bnb_dequantize_4bit(packed, restored, table, blocksize)
    assert y.view(np.uint32).tolist() == expected.view(np.uint32).tolist()


# ---------------------------------------------------------------------------
# LLM.int8

@pytest.mark.parametrize("name", ["int8-rowwise-256", "int8-rowwise-256/scalar"])
def test_int8_rowwise(tool, name):
    for label, a in datasets(256 * 64):
        buf = tool.quantize(name, a)
        rows = a.reshape(-1, 256)
        stats = np.abs(rows).max(axis=1).astype(f32)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(stats == 0, f32(0), f32(127.0) / stats).astype(f32)
        q = np.round((rows * scale[:, None]).astype(f32)).astype(np.int8)  # np.round: half to even
        raw = np.frombuffer(buf, dtype=np.uint8)
        assert np.array_equal(raw[:a.size].view(np.int8), q.reshape(-1)), label
        assert np.array_equal(raw[a.size:].copy().view(f32), stats), label
        y = tool.dequantize(name, buf, a.size)
        expected = ((q.astype(f32) * stats[:, None]).astype(f32) * f32(7.874015718698502e-3)).astype(f32)
        assert y.view(np.uint32).tolist() == expected.reshape(-1).view(np.uint32).tolist(), label


# ---------------------------------------------------------------------------
# GPTQ / AWQ

AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7]          # packing_utils.py
AWQ_REVERSE_ORDER = [0, 4, 1, 5, 2, 6, 3, 7]


def gptq_rtn(w_groups):
    """quantizer.py find_params (sym=False, maxq=15) on [rows, G] groups, then quantize()."""
    xmin = np.minimum(w_groups.min(axis=1), 0).astype(f32)
    xmax = np.maximum(w_groups.max(axis=1), 0).astype(f32)
    both = (xmin == 0) & (xmax == 0)
    xmin[both], xmax[both] = -1, 1
    scale = ((xmax - xmin) / f32(15)).astype(f32)
    zero = np.round((-xmin / scale).astype(f32))
    q = np.clip(np.round((w_groups / scale[:, None]).astype(f32)) + zero[:, None], 0, 15)
    return scale, zero.astype(np.int64), q.astype(np.int64)


def awq_rtn(w_groups):
    """quantizer.py pseudo_quantize_tensor (zero_point=True, w_bit=4)."""
    max_val = w_groups.max(axis=1)
    min_val = w_groups.min(axis=1)
    scale = (np.maximum((max_val - min_val).astype(f32), f32(1e-5)) / f32(15)).astype(f32)
    zero = np.clip(-np.round((min_val / scale).astype(f32)), 0, 15)
    q = np.clip(np.round((w_groups / scale[:, None]).astype(f32)) + zero[:, None], 0, 15)
    return scale, zero.astype(np.int64), q.astype(np.int64)


def gptq_pack(intweight, zeros, v1=True):
    """qlinear_cuda_old.py pack(): intweight [in, out] -> qweight [in/8, out] (input rows LSB first);
    zeros [groups, out] stored minus one (v1) -> qzeros [groups, out/8]."""
    qweight = np.zeros((intweight.shape[0] // 8, intweight.shape[1]), dtype=np.uint32)
    i = row = 0
    while row < qweight.shape[0]:
        for j in range(i, i + 8):
            qweight[row] |= intweight[j].astype(np.uint32) << np.uint32(4 * (j - i))
        i += 8
        row += 1
    zeros = (zeros - 1) if v1 else zeros
    zeros = (zeros & 15).astype(np.uint32)  # pack() ORs a uint32 -1 unmasked; qmath masks the nibble
    qzeros = np.zeros((zeros.shape[0], zeros.shape[1] // 8), dtype=np.uint32)
    i = col = 0
    while col < qzeros.shape[1]:
        for j in range(i, i + 8):
            qzeros[:, col] |= zeros[:, j] << np.uint32(4 * (j - i))
        i += 8
        col += 1
    return qweight, qzeros


def awq_pack(intweight, zeros):
    """gemm.py from_linear: intweight [in, out] -> qweight [in, out/8] with order_map; zeros likewise."""
    def pack(m):
        out = np.zeros((m.shape[0], m.shape[1] // 8), dtype=np.uint32)
        for col in range(m.shape[1] // 8):
            for i in range(8):
                out[:, col] |= m[:, col * 8 + AWQ_ORDER[i]].astype(np.uint32) << np.uint32(4 * i)
        return out
    return pack(intweight), pack(zeros)


def awq_unpack(qweight, qzeros, scales, group):
    """packing_utils.py unpack_awq + reverse_awq_order + dequantize_gemm."""
    shifts = np.arange(0, 32, 4, dtype=np.uint32)
    iweight = (qweight[:, :, None] >> shifts[None, None, :]).reshape(qweight.shape[0], -1)
    izeros = (qzeros[:, :, None] >> shifts[None, None, :]).reshape(qzeros.shape[0], -1)
    rev = (np.arange(iweight.shape[1]).reshape(-1, 8)[:, AWQ_REVERSE_ORDER]).reshape(-1)
    iweight = (iweight[:, rev] & 15).astype(np.int64)
    izeros = (izeros[:, rev] & 15).astype(np.int64)
    izeros = np.repeat(izeros, group, axis=0)
    s = np.repeat(scales.astype(f32), group, axis=0)
    return ((iweight - izeros).astype(f32) * s).astype(f32)  # [in, out]


def gptq_unpack(qweight, qzeros, scales, group, v1=True):
    """qlinear_cuda_old.py forward (no act-order): zeros + 1 in v1, (q - z) * scale."""
    shifts = np.arange(0, 32, 4, dtype=np.uint32)
    zeros = ((qzeros[:, :, None] >> shifts[None, None, :]) & 15).reshape(qzeros.shape[0], -1).astype(np.int64)
    zeros = zeros + 1 if v1 else zeros
    weight = ((qweight[:, None, :] >> shifts[None, :, None]) & 15).reshape(-1, qweight.shape[1]).astype(np.int64)
    z = np.repeat(zeros, group, axis=0)
    s = np.repeat(scales.astype(f32), group, axis=0)
    return ((weight - z).astype(f32) * s).astype(f32)  # [in, out]


@pytest.mark.parametrize("name,kind,in_features,group", [
    ("gptq-int4-256-g64", "gptq", 256, 64), ("gptq-v2-int4-256-g64", "gptq_v2", 256, 64),
    ("awq-int4-256-g64", "awq", 256, 64), ("awq-int4-128-g128", "awq", 128, 128),
    ("gptq-int4-128-g32", "gptq", 128, 32), ("awq-int4-256-g64/scalar", "awq", 256, 64),
    ("gptq-int4-256-g64/scalar", "gptq", 256, 64)])
def test_group_int4_packing(tool, name, kind, in_features, group):
    rng = np.random.default_rng(99)
    out_features = 32
    w = (rng.standard_normal((out_features, in_features)) * 0.02).astype(f32)
    w[3] = np.abs(w[3])   # a row with no negative values: GPTQ zero point 0
    w[5] = 0              # an all-zero row
    groups = w.reshape(out_features, in_features // group, group).reshape(-1, group)
    scale, zero, q = (awq_rtn if kind == "awq" else gptq_rtn)(groups)
    if kind == "gptq":  # v1 cannot store a zero point of 0: qmath uses 1 (formats/group_int4.hpp)
        zero = np.maximum(zero, 1)
        q = np.clip(np.round((groups / scale[:, None]).astype(f32)) + zero[:, None], 0, 15).astype(np.int64)
    ng = in_features // group
    intweight = q.reshape(out_features, in_features).T             # [in, out]
    zeros = zero.reshape(out_features, ng).T                        # [groups, out]
    scales = scale.reshape(out_features, ng).T.astype(np.float16)   # [groups, out]
    if kind == "awq":
        qweight, qzeros = awq_pack(intweight, zeros)
    else:
        qweight, qzeros = gptq_pack(intweight, zeros, v1=(kind == "gptq"))

    buf = tool.quantize(name, w.reshape(-1))
    raw = np.frombuffer(buf, dtype=np.uint8)
    nq, nz = qweight.size * 4, qzeros.size * 4
    assert len(buf) == nq + nz + scales.size * 2
    assert np.array_equal(raw[:nq].view(np.uint32).reshape(qweight.shape), qweight)
    assert np.array_equal(raw[nq:nq + nz].view(np.uint32).reshape(qzeros.shape), qzeros)
    assert np.array_equal(raw[nq + nz:].view(np.uint16).reshape(scales.shape), scales.view(np.uint16))

    y = tool.dequantize(name, buf, w.size).reshape(out_features, in_features)
    if kind == "awq":
        expected = awq_unpack(qweight, qzeros, scales, group).T
    else:
        expected = gptq_unpack(qweight, qzeros, scales, group, v1=(kind == "gptq")).T
    assert y.view(np.uint32).tolist() == np.ascontiguousarray(expected).view(np.uint32).tolist()
    assert np.max(np.abs(y - w)) <= 1.6 * float(scales.astype(f32).max())
