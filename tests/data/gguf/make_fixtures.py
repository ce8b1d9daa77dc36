#!/usr/bin/env python3
"""Writes the small GGUF files that tests/runtime/test_gguf_reader.cpp reads.

The files are written by the `gguf` package's GGUFWriter (llama.cpp's gguf-py),
an implementation independent of qmath. Next to each file, `<name>.expected`
records what gguf-py's GGUFReader reads back from it: the C++ test checks
qmath's reader against these lines, and tests/python/test_gguf_reader.py checks
that the committed files and manifests are what this script produces.

Run from anywhere:  python3 tests/data/gguf/make_fixtures.py [OUT_DIR]
GENERATOR records the gguf package version that wrote the committed files.
Manifest lines (space separated; strings as hex UTF-8, "-" when empty):
  version N | alignment N | data_offset N | file_size N
  kv KEY TYPE VALUE                  scalars (TYPE = GGUFValueType number)
  kv KEY 9 ELEMENT_TYPE COUNT V...   arrays (nested arrays: the count only)
  tensor NAME GGML_TYPE N_DIMS D0.. FILE_OFFSET N_BYTES N_ELEMENTS
"""
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T, GGUFValueType as V

HERE = Path(__file__).resolve().parent


def raw_tensor(rng, qtype, shape):
    """Random bytes shaped as `shape` (numpy order, last axis = ne[0]) of qtype."""
    block, type_size = gguf.GGML_QUANT_SIZES[qtype]
    assert shape[-1] % block == 0
    byte_shape = (*shape[:-1], shape[-1] // block * type_size)
    return rng.integers(0, 256, size=byte_shape, dtype=np.uint8)


def write_llama_tiny(path):
    rng = np.random.default_rng(20240601)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("qmath tiny llama")
    w.add_block_count(2)
    w.add_context_length(256)
    w.add_embedding_length(64)
    w.add_feed_forward_length(128)
    w.add_head_count(4)
    w.add_head_count_kv(2)
    w.add_key_length(16)
    w.add_value_length(16)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    w.add_file_type(2)
    w.add_quantization_version(2)
    tokens = ["<unk>", "<s>", "</s>", "hello", " world", "größe", "日本", "\u2581a", "\n", "end"]
    w.add_token_list(tokens)
    w.add_token_scores([float(-i) / 4 for i in range(len(tokens))])
    w.add_token_types([1, 3, 3, 1, 1, 1, 1, 1, 6, 1])
    # One key of every scalar type, at the edges of its range.
    w.add_uint8("qmath.test.u8", 255)
    w.add_int8("qmath.test.i8", -128)
    w.add_uint16("qmath.test.u16", 65535)
    w.add_int16("qmath.test.i16", -32768)
    w.add_uint32("qmath.test.u32", 4294967295)
    w.add_int32("qmath.test.i32", -2147483648)
    w.add_float32("qmath.test.f32", 0.1)
    w.add_bool("qmath.test.bool_true", True)
    w.add_bool("qmath.test.bool_false", False)
    w.add_uint64("qmath.test.u64", 18446744073709551615)
    w.add_int64("qmath.test.i64", -9223372036854775808)
    w.add_float64("qmath.test.f64", -2.5e-300)
    w.add_key_value("qmath.test.empty_string", "", V.STRING)
    w.add_array("qmath.test.nested", [[1, 2, 3], [4, 5]])
    w.add_array("qmath.test.bools", [True, False, True])

    w.add_tensor("token_embd.weight", raw_tensor(rng, T.Q8_0, (10, 64)), raw_dtype=T.Q8_0)
    w.add_tensor("output_norm.weight", rng.standard_normal(64).astype(np.float32))
    w.add_tensor("blk.0.attn_q.weight", raw_tensor(rng, T.Q4_0, (64, 64)), raw_dtype=T.Q4_0)
    w.add_tensor("blk.0.attn_k.weight", raw_tensor(rng, T.Q4_1, (32, 64)), raw_dtype=T.Q4_1)
    w.add_tensor("blk.0.ffn_up.weight", raw_tensor(rng, T.Q4_K, (2, 256)), raw_dtype=T.Q4_K)
    w.add_tensor("blk.0.ffn_down.weight", raw_tensor(rng, T.Q6_K, (1, 512)), raw_dtype=T.Q6_K)
    w.add_tensor("blk.1.ffn_gate.weight", raw_tensor(rng, T.Q2_K, (3, 256)), raw_dtype=T.Q2_K)
    w.add_tensor("blk.1.attn_v.weight", raw_tensor(rng, T.IQ4_NL, (2, 64)), raw_dtype=T.IQ4_NL)
    w.add_tensor("blk.1.attn_output.weight", raw_tensor(rng, T.TQ2_0, (1, 256)), raw_dtype=T.TQ2_0)
    w.add_tensor("blk.1.f16_3d", rng.standard_normal((2, 3, 8)).astype(np.float16))
    w.add_tensor("blk.1.bf16", raw_tensor(rng, T.BF16, (5, 16)), raw_dtype=T.BF16)
    w.add_tensor("blk.1.f32_4d", rng.standard_normal((2, 2, 3, 4)).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_qwen_aligned(path):
    rng = np.random.default_rng(7)
    w = gguf.GGUFWriter(str(path), "qwen2")
    w.add_custom_alignment(64)
    w.add_name("qmath aligned qwen")
    w.add_uint64("qwen2.block_count", 3)
    w.add_uint64("qwen2.embedding_length", 32)
    w.add_uint32("qwen2.context_length", 32768)
    w.add_head_count(4)
    # Per-layer KV head counts (the reader reports their maximum).
    w.add_array("qwen2.attention.head_count_kv", [2, 4, 2])
    w.add_array("qwen2.feed_forward_length", [64, 96, 64])
    w.add_vocab_size(151936)
    w.add_tensor("token_embd.weight", rng.standard_normal((4, 32)).astype(np.float32))
    w.add_tensor("blk.0.attn_q.weight", raw_tensor(rng, T.Q5_0, (32, 32)), raw_dtype=T.Q5_0)
    w.add_tensor("blk.0.attn_k.weight", raw_tensor(rng, T.Q5_1, (8, 32)), raw_dtype=T.Q5_1)
    w.add_tensor("blk.0.ffn_down.weight", raw_tensor(rng, T.Q3_K, (1, 256)), raw_dtype=T.Q3_K)
    w.add_tensor("blk.0.ffn_up.weight", raw_tensor(rng, T.Q5_K, (1, 256)), raw_dtype=T.Q5_K)
    w.add_tensor("blk.0.ffn_gate.weight", raw_tensor(rng, T.IQ4_XS, (1, 256)), raw_dtype=T.IQ4_XS)
    w.add_tensor("blk.0.attn_norm.weight", rng.standard_normal(32).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_metadata_only(path):
    w = gguf.GGUFWriter(str(path), "gpt2")
    w.add_context_length(1024)
    w.add_description("a file with metadata and no tensors")
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_version2(path):
    # GGUF v2 and v3 lay a little-endian file out identically (v3 only allowed
    # big-endian files: ggml-org/ggml docs/gguf.md, gguf_header_t.version), and
    # gguf-py always writes 3, so a v2 file is the v3 file with version 2.
    write_llama_tiny(path)
    data = bytearray(path.read_bytes())
    assert data[4:8] == (3).to_bytes(4, "little")
    data[4:8] = (2).to_bytes(4, "little")
    path.write_bytes(bytes(data))


FIXTURES = {
    "llama_tiny.gguf": write_llama_tiny,
    "qwen_aligned64.gguf": write_qwen_aligned,
    "metadata_only.gguf": write_metadata_only,
    "llama_tiny_v2.gguf": write_version2,
}


def text(v):
    if isinstance(v, (bytes, bytearray, np.ndarray)):
        b = bytes(v)
    else:
        b = str(v).encode("utf-8")
    return b.hex() if b else "-"


def scalar(vtype, v):
    if vtype == V.STRING:
        return text(v)
    if vtype == V.BOOL:
        return "1" if bool(v) else "0"
    if vtype in (V.FLOAT32, V.FLOAT64):
        return repr(float(v))
    return str(int(v))


def manifest(path):
    """What gguf-py's GGUFReader reads from the file, one fact a line."""
    r = gguf.GGUFReader(str(path))
    lines = [f"version {int(r.fields['GGUF.version'].parts[-1][0])}",
             f"alignment {r.alignment}", f"data_offset {r.data_offset}",
             f"file_size {path.stat().st_size}"]
    for name, field in r.fields.items():
        if name.startswith("GGUF."):
            continue
        vtype = field.types[0]
        if vtype == V.ARRAY:
            etype = field.types[1] if len(field.types) > 1 else V.UINT8
            count = int(field.parts[4][0]) if len(field.parts) > 4 else 0
            if etype == V.ARRAY:
                lines.append(f"kv {name} 9 9 {count}")
            elif etype == V.STRING:
                items = [text(field.parts[i]) for i in field.data]
                lines.append(f"kv {name} 9 {int(etype)} {len(items)} " + " ".join(items))
            else:
                items = [scalar(etype, field.parts[i][0]) for i in field.data]
                lines.append(f"kv {name} 9 {int(etype)} {len(items)} " + " ".join(items))
        else:
            part = field.parts[field.data[0]]
            value = bytes(part) if vtype == V.STRING else part[0]
            lines.append(f"kv {name} {int(vtype)} {scalar(vtype, value)}")
    for t in r.tensors:
        dims = [int(d) for d in t.field.parts[3]]  # as stored: ne[0] first
        lines.append(f"tensor {t.name} {int(t.tensor_type)} {len(dims)} " + " ".join(map(str, dims)) +
                     f" {t.data_offset} {t.n_bytes} {t.n_elements}")
    return "\n".join(lines) + "\n"


def generator_version():
    from importlib.metadata import version
    return f"gguf {version('gguf')}"


def main(out_dir: Path):
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "GENERATOR").write_text(generator_version() + "\n", encoding="utf-8")
    for name, writer in FIXTURES.items():
        path = out_dir / name
        writer(path)
        (out_dir / (name + ".expected")).write_text(manifest(path), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
