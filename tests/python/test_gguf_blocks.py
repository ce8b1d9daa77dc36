"""GGUF 32-element block formats: qmath against gguf-py (ggml's own Python package).

gguf-py's quantizers (gguf/quants.py) are numpy ports of ggml's reference
quantizers (src/ggml-quants.c, quantize_row_*_ref); its dequantizers follow
dequantize_row_*. qmath must write the same bytes and read back the same
floats, on its default-architecture kernels and on its scalar reference.
Q5_0 and Q5_1 have no SIMD path yet (their "default" entries run the
reference too). gguf-py has no IQ4_NL quantizer, so IQ4_NL is checked against a numpy port of
quantize_row_iq4_nl_ref written here from the C source.
"""
import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
from gguf import GGMLQuantizationType as T  # noqa: E402
from gguf.quants import dequantize, quantize  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy on Inf / NaN scales

QUANTIZED_BY_GGUF = {"q8_0": T.Q8_0, "q4_0": T.Q4_0, "q4_1": T.Q4_1, "q5_0": T.Q5_0, "q5_1": T.Q5_1}
ALL = {**QUANTIZED_BY_GGUF, "iq4_nl": T.IQ4_NL}
VARIANTS = ["", "/scalar"]


def datasets():
    rng = np.random.default_rng(20240611)
    n = 32 * 4096
    yield "normal", rng.standard_normal(n).astype(np.float32)
    yield "normal_small", (rng.standard_normal(n) * 1e-3).astype(np.float32)
    yield "student_t2", rng.standard_t(2, n).astype(np.float32)
    yield "cauchy", rng.standard_cauchy(n).astype(np.float32)
    yield "uniform_pos", rng.uniform(0.5, 3.0, n).astype(np.float32)
    # Many exact ties of x*id at .5 (quarter steps) and repeated magnitudes of both signs.
    yield "quarters", (rng.integers(-16, 17, n) / 4).astype(np.float32)
    yield "signs", (rng.choice([-1.0, 1.0], n) * rng.choice([0.5, 1.0, 2.0], n)).astype(np.float32)
    # Values near the fp16 range of d, and d that overflows fp16 (amax > 127 * 65504).
    yield "large", (rng.standard_normal(32 * 256) * 4e6).astype(np.float32)
    yield "sparse", np.where(rng.random(n) < 0.9, 0, rng.standard_normal(n)).astype(np.float32)
    for scheme in ("q8_0", "q4_0", "q4_1", "q5_0", "q5_1"):
        yield "near_ties_" + scheme, near_ties(rng, scheme)


def near_ties(rng, scheme, n_blocks=2048):
    """Blocks with extremes +-base and the other values a few ulps around the
    points where a code changes (x/d at a half-integer). Rounding x*id on its own,
    as the C reference does, and fusing it into the following add (an FMA) give
    different codes here."""
    base = np.exp(rng.standard_normal((n_blocks, 1))).astype(np.float32)
    k = rng.integers(0, 16, (n_blocks, 30)) + 0.5
    k32 = rng.integers(0, 32, (n_blocks, 30)) + 0.5
    b = base.astype(np.float64)
    exact = {"q8_0": (k - 8) * b / 127 * 15, "q4_0": (k - 8) * b / 8, "q4_1": -b + k * (2 * b / 15),
             "q5_0": (k32 - 16) * b / 16, "q5_1": -b + k32 * (2 * b / 31)}[scheme]
    values = exact.astype(np.float32)
    nudge = rng.integers(-3, 4, values.shape)
    for step in range(3):
        values = np.where(nudge > step, np.nextafter(values, np.float32(np.inf)), values)
        values = np.where(nudge < -step, np.nextafter(values, np.float32(-np.inf)), values)
    values = np.clip(values, -base, base)
    return np.concatenate([base, -base, values], axis=1).astype(np.float32).ravel()


def edge_blocks():
    """Hand-made blocks: zeros, constants, a single spike, ties of largest |x|."""
    blocks = [
        np.zeros(32),
        np.full(32, 0.25),
        np.full(32, -3.0),
        np.eye(1, 32, 7)[0] * 5.0,
        np.eye(1, 32, 31)[0] * -5.0,
        np.r_[np.full(16, 1.0), np.full(16, -1.0)],
        np.r_[-2.0, 2.0, np.linspace(-1, 1, 30)],
        np.r_[2.0, -2.0, np.linspace(-1, 1, 30)],
        np.arange(32) - 15.5,
        np.arange(32) * 1e-3,
        np.r_[0.0, np.linspace(0.1, 1, 31)],  # minimum exactly +0
        np.r_[np.linspace(-1, -0.1, 31), 0.0],  # maximum exactly +0
        np.full(32, 65504.0 * 127),
        # Subnormal inputs: 1/d overflows to Inf, x86 ggml (and numpy) give the codes of a zero product.
        np.arange(32) * 1e-40,
        -np.arange(32) * 1e-41,
        np.r_[1e-44, np.zeros(31)],
        np.r_[np.zeros(31), -1e-45],
        # Signed zeros as the minimum or maximum: the first zero met is the one stored.
        np.r_[-0.0, 0.0, np.ones(30)],
        np.r_[0.0, -0.0, np.ones(30)],
        np.r_[0.0, -0.0, -np.ones(30)],
        np.r_[-0.0, 0.0, -np.ones(30)],
    ]
    return np.concatenate(blocks).astype(np.float32)


@pytest.mark.parametrize("name", list(QUANTIZED_BY_GGUF))
@pytest.mark.parametrize("variant", VARIANTS)
def test_quantize_bytes_equal_gguf(tool, name, variant):
    for label, values in [*datasets(), ("edge", edge_blocks())]:
        expected = quantize(values.reshape(-1, 32), QUANTIZED_BY_GGUF[name]).tobytes()
        got = tool.quantize(name + variant, values)
        assert len(got) == len(expected)
        if got != expected:
            size = len(expected) // (values.size // 32)
            first = next(i for i in range(0, len(got), size) if got[i:i + size] != expected[i:i + size])
            pytest.fail(f"{name}{variant} {label}: block {first // size} differs: "
                        f"{got[first:first + size].hex()} != {expected[first:first + size].hex()}")


def test_q4_0_all_negative_zero_block_follows_ggml_c(tool):
    # A deviation of gguf-py from ggml's C reference, documented here: ggml starts
    # `max` at +0.0f and only replaces it for a larger |x|, so a block of -0.0 gives
    # d = +0/-8 = -0 (fp16 0x8000). gguf-py takes max = x[argmax|x|] = -0.0 and
    # stores d = +0. qmath follows the C code (both decode to zeros).
    values = np.full(32, -0.0, dtype=np.float32)
    for variant in VARIANTS:
        got = tool.quantize("q4_0" + variant, values)
        assert got[:2] == b"\x00\x80"
        assert got[2:] == bytes([0x88] * 16)  # x*id + 8.5 with id = 0: code 8
    assert quantize(values.reshape(1, 32), T.Q4_0).tobytes()[:2] == b"\x00\x00"


@pytest.mark.parametrize("name", list(ALL))
@pytest.mark.parametrize("variant", VARIANTS)
def test_dequantize_equals_gguf_on_random_blocks(tool, name, variant):
    rng = np.random.default_rng(7)
    n_blocks = 4096
    size = gguf.constants.GGML_QUANT_SIZES[ALL[name]][1]
    raw = rng.integers(0, 256, n_blocks * size, dtype=np.uint8).reshape(n_blocks, size)
    # Scales: any finite fp16 (normal, subnormal, zero, either sign); a few Inf and NaN.
    half = rng.integers(0, 1 << 16, (n_blocks, 2), dtype=np.uint16)
    finite = (half & 0x7C00) != 0x7C00
    half[~finite[:, 0], 0] &= 0x83FF
    half[~finite[:, 1], 1] &= 0x83FF
    half[:4, 0] = [0x7C00, 0xFC00, 0x7E00, 0x0001]
    raw[:, 0:2] = half[:, 0:1].view(np.uint8)
    if name in ("q4_1", "q5_1"):
        raw[:, 2:4] = half[:, 1:2].view(np.uint8)
    data = raw.tobytes()
    expected = dequantize(raw.reshape(-1), ALL[name]).reshape(-1)
    got = tool.dequantize(name + variant, data, n_blocks * 32)
    np.testing.assert_array_equal(got, expected)
    # Bitwise, apart from NaN payloads: same zeros signs, same everything.
    same = (got.view(np.uint32) == expected.view(np.uint32)) | (np.isnan(got) & np.isnan(expected))
    assert same.all()


# --- IQ4_NL quantize: a numpy port of quantize_row_iq4_nl_ref (ntry = -1) ---

KVALUES = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113], dtype=np.float32)


def best_index_int8(x):
    """ggml-quants.c best_index_int8(16, kvalues_iq4nl, x), elementwise in float32."""
    x = x.astype(np.float32)
    lower = np.clip(np.searchsorted(KVALUES, x, side="right") - 1, 0, 14)  # values[lower] <= x < values[lower+1]
    upper = lower + 1
    pick_lower = (x - KVALUES[lower]) < (KVALUES[upper] - x)
    index = np.where(pick_lower, lower, upper)
    index = np.where(x <= KVALUES[0], 0, index)
    return np.where(x >= KVALUES[15], 15, index)


def iq4_nl_reference(values):
    blocks = values.reshape(-1, 32).astype(np.float32)
    n = blocks.shape[0]
    first = np.argmax(np.abs(blocks), axis=1)  # first largest |x|, as the strict `ax > amax` scan
    vmax = blocks[np.arange(n), first]
    amax = np.abs(vmax)
    zero = amax < np.float32(1e-15)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        d0 = vmax / np.float32(-127)
        ident = (np.float32(1) / d0).astype(np.float32)
        codes = best_index_int8(ident[:, None] * blocks)
        q = KVALUES[codes]
        sumqx = np.zeros(n, np.float32)
        sumq2 = np.zeros(n, np.float32)
        for j in range(32):  # in element order, every product rounded to float32
            w = blocks[:, j] * blocks[:, j]
            sumqx = sumqx + (w * q[:, j]) * blocks[:, j]
            sumq2 = sumq2 + (w * q[:, j]) * q[:, j]
        d = np.where(sumq2 > 0, sumqx / np.where(sumq2 > 0, sumq2, 1), 0).astype(np.float32)
    d = np.where(zero, np.float32(0), d)
    codes = np.where(zero[:, None], 8, codes).astype(np.uint8)  # qmath's documented zero-block codes
    qs = codes[:, :16] | (codes[:, 16:] << 4)
    return np.concatenate([d.astype(np.float16).view(np.uint8).reshape(n, 2), qs], axis=1).tobytes()


@pytest.mark.parametrize("variant", VARIANTS)
def test_iq4_nl_quantize_equals_port_of_ggml_reference(tool, variant):
    for label, values in [*datasets(), ("edge", edge_blocks())]:
        if label == "large":
            continue  # x^2 overflows there: d is NaN in both, with payload bits numpy does not pin down
        expected = iq4_nl_reference(values)
        got = tool.quantize("iq4_nl" + variant, values)
        assert got == expected, label


def test_errors_reach_the_tool(tool):
    with pytest.raises(Exception):
        tool.quantize("q8_0", np.ones(33, np.float32))
    with pytest.raises(Exception):
        tool.quantize("q4_0", np.r_[np.ones(40), np.nan, np.ones(23)].astype(np.float32))
