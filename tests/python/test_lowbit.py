"""2-bit and ternary formats: qmath against gguf-py and numpy.

* TQ2_0 / TQ1_0: gguf-py (gguf/quants.py) has numpy ports of ggml's
  quantize_row_tq{1,2}_0_ref and dequantize_row_tq{1,2}_0; qmath must write the
  same bytes and read back the same floats.
* Q2_K: gguf-py only dequantizes it, so the quantizer is checked against a
  numpy port of quantize_row_q2_K_ref / make_qkx2_quants (ggml
  src/ggml-quants.c) written here: float32 throughout, every operation rounded
  on its own (numpy never fuses), sums in element order, vectorised across the
  sub-blocks only.
* int2_group: qmath's own format, against a numpy implementation of the rule
  documented in include/qmath/formats/group_int2.hpp.
* BitNet absmean (microsoft/BitNet weight_quant): trits packed as TQ2_0 / TQ1_0
  and decoded by gguf-py.
"""
import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
from gguf import GGMLQuantizationType as T  # noqa: E402
from gguf.quants import dequantize, quantize  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

f32 = np.float32
VARIANTS = ["", "/scalar"]


def same_floats(a: np.ndarray, b: np.ndarray) -> bool:
    """Bitwise equal, NaN equal to NaN."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    both_nan = np.isnan(a) & np.isnan(b)
    return a.shape == b.shape and bool(np.all(both_nan | (a.view(np.uint32) == b.view(np.uint32))))


def datasets(block: int, n_blocks: int = 512):
    rng = np.random.default_rng(20261123)
    n = block * n_blocks
    yield "normal", rng.standard_normal(n).astype(f32)
    yield "normal_small", (rng.standard_normal(n) * 1e-3).astype(f32)
    yield "ternary", (rng.integers(-1, 2, n) * np.repeat(rng.uniform(0.01, 2, n_blocks), block)).astype(f32)
    yield "quarters", (rng.integers(-8, 9, n) / 4).astype(f32)  # x / amax hits +-0.5 exactly
    yield "uniform_pos", rng.uniform(0.5, 3.0, n).astype(f32)
    yield "student_t2", rng.standard_t(2, n).astype(f32)
    yield "sparse", np.where(rng.random(n) < 0.8, 0, rng.standard_normal(n)).astype(f32)
    yield "large", (rng.standard_normal(n) * 3000).astype(f32)
    zeros_and_runs = rng.standard_normal(n).astype(f32)
    zeros_and_runs[: 2 * block] = 0
    zeros_and_runs[2 * block : 3 * block : 2] = 0.75
    yield "zeros_and_runs", zeros_and_runs


# ---------------------------------------------------------------- TQ1_0 / TQ2_0

TERNARY = {"tq2_0": T.TQ2_0, "tq1_0": T.TQ1_0}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", TERNARY)
def test_ternary_quantize_bytes_equal_gguf(tool, name, variant):
    for label, x in datasets(256):
        expected = quantize(x.reshape(-1, 256), TERNARY[name]).tobytes()
        got = tool.quantize(name + variant, x)
        assert got == expected, f"{name}{variant} {label}"


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", TERNARY)
def test_ternary_dequantize_equals_gguf_on_any_bytes(tool, name, variant):
    rng = np.random.default_rng(7)
    block_bytes = {"tq2_0": 66, "tq1_0": 54}[name]
    raw = rng.integers(0, 256, block_bytes * 300, dtype=np.uint8)
    expected = dequantize(raw.reshape(300, block_bytes), TERNARY[name]).reshape(-1)
    got = tool.dequantize(name + variant, raw.tobytes(), 300 * 256)
    assert same_floats(got, expected)


# ---------------------------------------------------------------------- Q2_K


def nearest_int(v: np.ndarray) -> np.ndarray:
    """ggml's nearest_int: add 1.5 * 2^23 and read the low mantissa bits."""
    bits = (np.asarray(v, f32) + f32(12582912.0)).astype(f32).view(np.int32)
    return (bits & 0x007FFFFF) - 0x00400000


def make_qkx2_quants(x: np.ndarray):
    """make_qkx2_quants(16, 3, x, |x|, L, &the_min, Laux, -0.5f, 0.1f, 15, true) for rows of 16."""
    w = np.abs(x)
    mn, mx = x[:, 0].copy(), x[:, 0].copy()
    sum_w = w[:, 0].copy()
    sum_x = sum_w * x[:, 0]
    for i in range(1, 16):
        mn = np.where(x[:, i] < mn, x[:, i], mn)
        mx = np.where(x[:, i] > mx, x[:, i], mx)
        sum_w = sum_w + w[:, i]
        sum_x = sum_x + w[:, i] * x[:, i]
    mn = np.where(mn > 0, f32(0), mn)
    flat = mx == mn
    iscale = f32(3) / (mx - mn)
    scale = f32(1) / iscale
    L = np.clip(nearest_int(iscale[:, None] * (x - mn[:, None])), 0, 3).astype(f32)
    best = np.zeros_like(sum_w)
    for i in range(16):
        diff = (scale * L[:, i] + mn) - x[:, i]
        best = best + w[:, i] * np.abs(diff)
    for step in range(16):
        numerator = (f32(-0.5) + f32(0.1) * f32(step)) + f32(3)
        iscale = numerator / (mx - mn)
        aux = np.clip(nearest_int(iscale[:, None] * (x - mn[:, None])), 0, 3).astype(f32)
        sum_l = np.zeros_like(sum_w)
        sum_l2 = np.zeros_like(sum_w)
        sum_xl = np.zeros_like(sum_w)
        for i in range(16):
            wl = w[:, i] * aux[:, i]
            sum_l = sum_l + wl
            sum_l2 = sum_l2 + wl * aux[:, i]
            sum_xl = sum_xl + wl * x[:, i]
        D = sum_w * sum_l2 - sum_l * sum_l
        this_scale = (sum_w * sum_xl - sum_x * sum_l) / D
        this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D
        positive = this_min > 0
        this_scale = np.where(positive, sum_xl / sum_l2, this_scale)
        this_min = np.where(positive, f32(0), this_min)
        cur = np.zeros_like(sum_w)
        for i in range(16):
            cur = cur + w[:, i] * np.abs((this_scale * aux[:, i] + this_min) - x[:, i])
        better = (D > 0) & (cur < best) & ~flat
        L = np.where(better[:, None], aux, L)
        best = np.where(better, cur, best)
        scale = np.where(better, this_scale, scale)
        mn = np.where(better, this_min, mn)
    scale = np.where(flat, f32(0), scale)
    L = np.where(flat[:, None], f32(0), L)
    return scale.astype(f32), (-mn).astype(f32), L.astype(np.int64)


def quantize_q2_k(x: np.ndarray) -> bytes:
    """quantize_row_q2_K_ref (ggml src/ggml-quants.c) on whole blocks of 256."""
    nb = x.size // 256
    xs = x.reshape(nb, 16, 16).astype(f32)
    scales, mins, L = make_qkx2_quants(xs.reshape(nb * 16, 16))
    scales, mins, L = scales.reshape(nb, 16), mins.reshape(nb, 16), L.reshape(nb, 16, 16)
    max_scale = np.maximum(scales.max(axis=1), f32(0))
    max_min = np.maximum(mins.max(axis=1), f32(0))
    sc = np.zeros((nb, 16), np.int64)
    d16 = np.zeros(nb, np.float16)
    dmin16 = np.zeros(nb, np.float16)
    has_scale, has_min = max_scale > 0, max_min > 0
    inv = np.where(has_scale, f32(15) / np.where(has_scale, max_scale, f32(1)), f32(0))
    sc = np.where(has_scale[:, None], nearest_int(inv[:, None] * scales) & 0xFF, 0)
    d16 = np.where(has_scale, (max_scale / f32(15)).astype(np.float16), np.float16(0))
    inv = np.where(has_min, f32(15) / np.where(has_min, max_min, f32(1)), f32(0))
    sc = np.where(has_min[:, None], sc | ((nearest_int(inv[:, None] * mins) << 4) & 0xFF), sc)
    dmin16 = np.where(has_min, (max_min / f32(15)).astype(np.float16), np.float16(0))
    d = d16.astype(f32)[:, None] * (sc & 0xF).astype(f32)
    dm = dmin16.astype(f32)[:, None] * (sc >> 4).astype(f32)
    requant = np.clip(nearest_int((xs + dm[:, :, None]) / np.where(d != 0, d, f32(1))[:, :, None]), 0, 3)
    L = np.where((d != 0)[:, :, None], requant, L).reshape(nb, 256)
    q = L.reshape(nb, 2, 4, 32)
    qs = (q[:, :, 0] | (q[:, :, 1] << 2) | (q[:, :, 2] << 4) | (q[:, :, 3] << 6)).astype(np.uint8).reshape(nb, 64)
    out = np.concatenate(
        [sc.astype(np.uint8), qs, d16.reshape(nb, 1).view(np.uint8), dmin16.reshape(nb, 1).view(np.uint8)], axis=1
    )
    return out.tobytes()


def test_q2_k_port_matches_the_hand_derived_golden_block():
    # Same derivation as tests/runtime/test_lowbit_formats.cpp: 0,1,2,3,... -> d = fp16(1/15) = 0x2C44.
    x = (np.arange(256) % 4).astype(f32)
    block = np.frombuffer(quantize_q2_k(x), np.uint8)
    assert list(block[:16]) == [15] * 16
    assert list(block[16:20]) == [0, 85, 170, 255]
    assert block[80:84].tobytes() == bytes([0x44, 0x2C, 0, 0])


@pytest.mark.parametrize("variant", VARIANTS)
def test_q2_k_quantize_bytes_equal_the_numpy_port(tool, variant):
    for label, x in datasets(256, 256):
        got = tool.quantize("q2_k" + variant, x)
        expected = quantize_q2_k(x)
        assert got == expected, f"q2_k{variant} {label}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_q2_k_dequantize_equals_gguf_on_any_bytes(tool, variant):
    rng = np.random.default_rng(11)
    raw = rng.integers(0, 256, 84 * 300, dtype=np.uint8)
    expected = dequantize(raw.reshape(300, 84), T.Q2_K).reshape(-1)
    got = tool.dequantize("q2_k" + variant, raw.tobytes(), 300 * 256)
    assert same_floats(got, expected)


def test_q2_k_round_trip_through_gguf(tool):
    """qmath's Q2_K bytes decode in gguf-py to what qmath decodes."""
    x = np.random.default_rng(3).standard_normal(256 * 64).astype(f32)
    raw = tool.quantize("q2_k", x)
    ours = tool.dequantize("q2_k", raw, x.size)
    theirs = dequantize(np.frombuffer(raw, np.uint8).reshape(64, 84), T.Q2_K).reshape(-1)
    assert same_floats(ours, theirs)
    assert np.sqrt(np.mean((ours - x) ** 2)) < 0.36


# ---------------------------------------------------------------- int2_group


def quantize_int2_group(x: np.ndarray, group: int) -> bytes:
    g = x.reshape(-1, group).astype(f32)
    lo = g.min(axis=1) + f32(0)
    hi = g.max(axis=1) + f32(0)
    m16 = lo.astype(np.float16)
    d16 = ((hi - lo) / f32(3)).astype(np.float16)
    m, d = m16.astype(f32), d16.astype(f32)
    v = (g - m[:, None]) / np.where(d != 0, d, f32(1))[:, None]
    v = np.where(v > 0, np.where(v < 3, v, f32(3)), f32(0))
    q = np.where((d != 0)[:, None], np.rint(v), 0).astype(np.uint8)
    plane = group // 4
    planes = q.reshape(-1, 4, plane)
    qs = planes[:, 0] | (planes[:, 1] << 2) | (planes[:, 2] << 4) | (planes[:, 3] << 6)
    header = np.stack([d16, m16], axis=1).view(np.uint8)
    return np.concatenate([header, qs], axis=1).tobytes()


@pytest.mark.parametrize("group", [16, 64, 256])
def test_int2_group_bytes_and_floats_equal_numpy(tool, group):
    name = f"int2_group{group}"
    for label, x in datasets(group, 256):
        if label == "large":
            x = x / 4  # keep (max - min) / 3 inside fp16
        raw = tool.quantize(name, x)
        assert raw == quantize_int2_group(x, group), f"{name} {label}"
        blocks = np.frombuffer(raw, np.uint8).reshape(-1, 4 + group // 4)
        d = blocks[:, 0:2].copy().view(np.float16).astype(f32)
        m = blocks[:, 2:4].copy().view(np.float16).astype(f32)
        codes = np.stack([(blocks[:, 4:] >> (2 * s)) & 3 for s in range(4)], axis=1).reshape(-1, group)
        expected = (codes.astype(f32) * d + m).reshape(-1)
        assert same_floats(tool.dequantize(name, raw, x.size), expected), f"{name} {label}"


# ----------------------------------------------------------- BitNet absmean


@pytest.mark.parametrize("fmt", ["tq2_0", "tq1_0"])
def test_bitnet_absmean_trits_decode_in_gguf(tool, fmt):
    rng = np.random.default_rng(1958)
    w = (rng.standard_normal(256 * 48) * 0.02).astype(f32)
    w[::97] = 0.0
    mean = f32(np.mean(np.abs(w).astype(np.float64)))
    s = f32(1) / max(mean, f32(1e-5))
    trits = np.clip(np.rint(w * s), -1, 1) + f32(0)  # torch.round: half to even; -0 trits are 0
    scale16 = np.float16(f32(1) / s).astype(f32)
    raw = tool.quantize("bitnet_" + fmt, w)
    decoded = dequantize(np.frombuffer(raw, np.uint8).reshape(48, -1), TERNARY[fmt]).reshape(-1)
    assert same_floats(decoded, (trits * scale16).astype(f32))
    assert 0.3 < np.mean(trits == 0) < 0.45  # absmean of a Gaussian: |x| < mean/2 for ~31% plus the zeros
