"""GGUF fixtures for tests/runtime/test_gguf_reader.cpp.

The C++ test checks qmath's reader against the `.expected` manifests, which
record what gguf-py's GGUFReader (an independent implementation) reads from
each fixture. These tests keep that chain honest: the committed files are what
make_fixtures.py writes with GGUFWriter, the manifests are what GGUFReader
reads from them, and the tensor sizes agree with gguf-py's block table.
"""
import importlib.util
from importlib.metadata import version
from pathlib import Path

import pytest

gguf = pytest.importorskip("gguf")

DATA = Path(__file__).resolve().parent.parent / "data" / "gguf"


def load_generator():
    spec = importlib.util.spec_from_file_location("make_fixtures", DATA / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_fixtures = load_generator()


@pytest.mark.parametrize("name", sorted(make_fixtures.FIXTURES))
def test_manifest_is_what_gguf_reader_reads(name):
    path = DATA / name
    assert path.stat().st_size < 16 * 1024, "fixtures stay small"
    assert (DATA / (name + ".expected")).read_text(encoding="utf-8") == make_fixtures.manifest(path)


@pytest.mark.parametrize("name", sorted(make_fixtures.FIXTURES))
def test_committed_files_are_what_the_script_writes(name, tmp_path):
    recorded = (DATA / "GENERATOR").read_text(encoding="utf-8").strip()
    if recorded != f"gguf {version('gguf')}":
        pytest.skip(f"fixtures were written by {recorded}; byte identity is only checked with that version")
    make_fixtures.main(tmp_path)
    assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes()


@pytest.mark.parametrize("name", sorted(make_fixtures.FIXTURES))
def test_tensor_sizes_follow_the_block_table(name):
    reader = gguf.GGUFReader(str(DATA / name))
    for t in reader.tensors:
        block, type_size = gguf.GGML_QUANT_SIZES[t.tensor_type]
        assert t.n_elements % block == 0
        assert t.n_bytes == t.n_elements // block * type_size
        assert t.data_offset % reader.alignment == 0
        assert t.data_offset + t.n_bytes <= (DATA / name).stat().st_size


def test_version2_fixture_differs_only_in_the_version_field():
    v3 = (DATA / "llama_tiny.gguf").read_bytes()
    v2 = (DATA / "llama_tiny_v2.gguf").read_bytes()
    assert len(v2) == len(v3)
    assert v2[4:8] == (2).to_bytes(4, "little") and v3[4:8] == (3).to_bytes(4, "little")
    assert v2[:4] + v2[8:] == v3[:4] + v3[8:]


def test_fixtures_cover_every_metadata_type():
    reader = gguf.GGUFReader(str(DATA / "llama_tiny.gguf"))
    seen = {field.types[0] for field in reader.fields.values() if field.types}
    assert seen == set(gguf.GGUFValueType)
