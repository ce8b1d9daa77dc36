"""qmath's float <-> fp16 / bf16 / fp8 conversions against numpy float16 and
ml_dtypes (bfloat16, float8_e4m3fn, float8_e5m2), independent implementations.

ml_dtypes' float8_e4m3fn is non-saturating (overflow and Inf give NaN), like
qmath's fp8_overflow::no_saturate; qmath's saturating mode is compared with
ml_dtypes applied to the input clipped to +-max. NaN is compared as a class
(the libraries choose different NaN payloads), everything else bit for bit.
"""
import numpy as np
import pytest

ml_dtypes = pytest.importorskip("ml_dtypes")

SPECIAL = np.array(
    [0.0, -0.0, 1.0, -1.0, 448.0, 464.0, 465.0, 480.0, 57344.0, 61440.0, 61439.996, 65504.0, 65520.0,
     2.0**-6, 2.0**-9, 2.0**-10, 1.5 * 2.0**-9, 2.0**-14, 2.0**-16, 2.0**-17, 2.0**-24, 2.0**-25,
     1e-40, -1e-45, 3e38, np.inf, -np.inf, np.nan],
    dtype=np.float32)


def inputs() -> np.ndarray:
    rng = np.random.default_rng(12345)
    any_bits = rng.integers(0, 2**32, size=50_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    scaled = (rng.standard_normal(50_000) * np.exp2(rng.uniform(-20, 18, 50_000))).astype(np.float32)
    return np.concatenate([SPECIAL, -SPECIAL, any_bits, scaled])


FORMATS = {
    # name: (reference dtype, clip to +-max before the reference converts, or None)
    "f16": (np.float16, None),
    "bf16": (ml_dtypes.bfloat16, None),
    "fp8-e4m3-nosat": (ml_dtypes.float8_e4m3fn, None),
    "fp8-e4m3": (ml_dtypes.float8_e4m3fn, 448.0),
    "fp8-e5m2": (ml_dtypes.float8_e5m2, None),
    "fp8-e5m2-sat": (ml_dtypes.float8_e5m2, 57344.0),
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_float_to_format_matches_reference(tool, name):
    dtype, clip = FORMATS[name]
    x = inputs()
    ref_in = np.clip(x, -clip, clip) if clip is not None else x  # np.clip keeps NaN
    with np.errstate(over="ignore", invalid="ignore"):
        expected = ref_in.astype(dtype)
    got = np.frombuffer(tool.quantize(name, x), dtype=dtype)
    assert got.shape == expected.shape
    nan_expected = np.isnan(expected.astype(np.float32))
    nan_got = np.isnan(got.astype(np.float32))
    assert np.array_equal(nan_expected, nan_got), x[nan_expected != nan_got][:8]
    uint = np.uint16 if np.dtype(dtype).itemsize == 2 else np.uint8
    mismatch = (got.view(uint) != expected.view(uint)) & ~nan_expected
    assert not mismatch.any(), [(hex(int(b)), int(g), int(e)) for b, g, e in
                                zip(x[mismatch].view(np.uint32)[:8], got.view(uint)[mismatch][:8],
                                    expected.view(uint)[mismatch][:8])]


@pytest.mark.parametrize("name", ["f16", "bf16", "fp8-e4m3", "fp8-e5m2"])
def test_every_pattern_decodes_like_reference(tool, name):
    dtype, _ = FORMATS[name]
    width = np.dtype(dtype).itemsize
    patterns = np.arange(2 ** (8 * width), dtype=np.uint16 if width == 2 else np.uint8)
    expected = patterns.view(dtype).astype(np.float32)
    got = tool.dequantize(name, patterns.tobytes(), patterns.size)
    nan = np.isnan(expected)
    assert np.array_equal(nan, np.isnan(got))
    assert np.array_equal(got[~nan].view(np.uint32), expected[~nan].view(np.uint32))


def test_formats_are_registered(tool):
    assert set(FORMATS) <= set(tool.formats())
