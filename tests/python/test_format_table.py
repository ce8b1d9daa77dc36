"""qmath's format table (include/qmath/formats/table.hpp) against gguf-py.

Every GGUF row's elements and bytes per block must be gguf-py's
GGML_QUANT_SIZES, and its type id the GGMLQuantizationType of the same name
(gguf/constants.py, mirroring ggml's include/ggml.h). The table is read from
the header text, so this test compiles nothing.
"""
import re
from pathlib import Path

import pytest

gguf = pytest.importorskip("gguf")
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType  # noqa: E402

TABLE = Path(__file__).resolve().parents[2] / "include" / "qmath" / "formats" / "table.hpp"

GGUF_ROW = re.compile(
    r'detail::gguf_row\(format_id::(\w+),\s*"(\w+)",\s*(\d+),\s*(\d+),\s*(-?\d+),\s*(true|false)\)')
FLOAT_ROW = re.compile(
    r'format_info\{format_id::(\w+),\s*"([\w-]+)",\s*format_family::floating_point,\s*(\d+),\s*(\d+),'
    r'\s*\d+,\s*\d+,\s*\d+,\s*(-?\d+),\s*(true|false)\}')


# gguf-py still lists Q8_1 as (32, 4 + 4 + 32), from when its d and s were
# floats; ggml's block_q8_1 holds two ggml_half and 32 int8 (src/ggml-common.h:
# static_assert(sizeof(block_q8_1) == 2*sizeof(ggml_half) + QK8_1)). Q8_1 is an
# activation format that GGUF files do not store. qmath follows ggml.
GGML_SIZES_WHERE_GGUF_PY_IS_STALE = {"q8_1": (32, 36)}

# Types of ggml's include/ggml.h newer than the gguf-py release installed
# (block_q2_0 in src/ggml-common.h: fp16 d and 64 2-bit codes). Checked
# against ggml itself by tests/ggml.
GGML_TYPES_NEWER_THAN_GGUF_PY = {"q2_0": (42, 64, 18)}


def rows(pattern):
    text = TABLE.read_text()
    found = pattern.findall(text)
    assert found, f"no rows matched in {TABLE}"
    return found


def test_gguf_rows_match_gguf_py():
    found = rows(GGUF_ROW)
    assert len(found) >= 20
    for ident, name, elems, nbytes, type_id, _ in found:
        assert ident == name
        if name.upper() not in GGMLQuantizationType.__members__ and name in GGML_TYPES_NEWER_THAN_GGUF_PY:
            assert (int(type_id), int(elems), int(nbytes)) == GGML_TYPES_NEWER_THAN_GGUF_PY[name], name
            continue
        qtype = GGMLQuantizationType[name.upper()]
        assert int(type_id) == qtype.value, name
        expected = GGML_SIZES_WHERE_GGUF_PY_IS_STALE.get(name, GGML_QUANT_SIZES[qtype])
        assert (int(elems), int(nbytes)) == expected, name


def test_the_stale_gguf_py_entries_are_still_stale():
    # When gguf-py is fixed, drop the exception above.
    assert GGML_QUANT_SIZES[GGMLQuantizationType.Q8_1] == (32, 40)


def test_float_rows_with_a_gguf_type_match_gguf_py():
    checked = 0
    for _, name, elems, bits, type_id, _ in rows(FLOAT_ROW):
        if int(type_id) < 0:
            continue
        qtype = GGMLQuantizationType(int(type_id))
        assert qtype.name.lower() == name
        assert (int(elems), int(bits) // 8) == GGML_QUANT_SIZES[qtype], name
        checked += 1
    assert checked == 3  # f32, f16, bf16


def test_type_ids_are_unique():
    ids = [int(r[4]) for r in rows(GGUF_ROW)] + [int(r[4]) for r in rows(FLOAT_ROW) if int(r[4]) >= 0]
    assert len(ids) == len(set(ids))
