"""GGUF files written by the gguf package (llama.cpp's gguf-py GGUFWriter)
with real model shapes and a mix of tensor types, the tensor data left as a
hole (a sparse file), read back by qmath::io::load_model through
qmath_model_info: qmath must recover exactly the tensor bytes and parameter
count that gguf-py's own GGUFReader reports, every tensor's stored type, and
the architecture the metadata and tensors describe.

Run by the readers_python test (tests/readers), which sets QMATH_MODEL_INFO.
"""
import os
from pathlib import Path

import pytest

gguf = pytest.importorskip("gguf")
np = pytest.importorskip("numpy")
from gguf import GGMLQuantizationType as T  # noqa: E402


def nbytes(qtype, shape):
    block, type_size = gguf.GGML_QUANT_SIZES[qtype]
    n = int(np.prod(shape))
    assert shape[0] % block == 0  # ne[0] is whole blocks
    return n // block * type_size


class Model:
    """Tensors (name, ne shape with ne[0] first, type) and metadata of one model."""

    def __init__(self, arch):
        self.arch = arch
        self.tensors = []
        self.kv = {}

    def add(self, name, ne, qtype):
        # Rows that are not whole blocks of the type fall back to Q8_0, as
        # llama-quantize does (tensor_type_fallback), e.g. Qwen2.5-0.5B's 896.
        if ne[0] % gguf.GGML_QUANT_SIZES[qtype][0] != 0:
            qtype = T.Q8_0
        self.tensors.append((name, list(ne), qtype))


def write_sparse(path, model: Model):
    w = gguf.GGUFWriter(str(path), model.arch)
    for key, (kind, value) in model.kv.items():
        getattr(w, "add_" + kind)(key, value)
    for name, ne, qtype in model.tensors:
        block, type_size = gguf.GGML_QUANT_SIZES[qtype]
        size = nbytes(qtype, ne)
        # numpy order (outermost first) of the raw bytes, as GGUFWriter expects.
        byte_shape = list(reversed(ne))
        byte_shape[-1] = byte_shape[-1] // block * type_size
        w.add_tensor_info(name, byte_shape, np.dtype(np.uint8), size, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    # The data section: each tensor padded to the alignment, left as a hole.
    align = gguf.GGUF_DEFAULT_ALIGNMENT
    header = path.stat().st_size
    data_offset = (header + align - 1) // align * align
    data = sum((nbytes(q, ne) + align - 1) // align * align for _, ne, q in model.tensors)
    os.truncate(path, data_offset + data)


def llama_like(arch, layers, hidden, heads, kv_heads, ff, vocab, tied=False, head_dim=None, mix="q4_k_m"):
    """A Llama-style decoder in a Q4_K_M-like mix: Q6_K output and the
    use_more_bits layers' attn_v / ffn_down, Q4_K elsewhere, F32 norms."""
    m = Model(arch)
    hd = head_dim or hidden // heads
    m.kv = {
        f"{arch}.block_count": ("uint32", layers),
        f"{arch}.embedding_length": ("uint32", hidden),
        f"{arch}.feed_forward_length": ("uint32", ff),
        f"{arch}.attention.head_count": ("uint32", heads),
        f"{arch}.attention.head_count_kv": ("uint32", kv_heads),
        f"{arch}.context_length": ("uint32", 8192),
        "general.file_type": ("uint32", 15),
        "general.name": ("string", f"{arch} test model"),
    }
    if head_dim:
        m.kv[f"{arch}.attention.key_length"] = ("uint32", head_dim)
    more = lambda i: i < layers // 8 or i >= 7 * layers // 8 or (i - layers // 8) % 3 == 2  # noqa: E731
    m.add("token_embd.weight", [hidden, vocab], T.Q4_K)
    for i in range(layers):
        b = f"blk.{i}."
        m.add(b + "attn_norm.weight", [hidden], T.F32)
        m.add(b + "attn_q.weight", [hidden, heads * hd], T.Q4_K)
        m.add(b + "attn_k.weight", [hidden, kv_heads * hd], T.Q4_K)
        m.add(b + "attn_v.weight", [hidden, kv_heads * hd], T.Q6_K if more(i) else T.Q4_K)
        m.add(b + "attn_output.weight", [heads * hd, hidden], T.Q4_K)
        m.add(b + "ffn_norm.weight", [hidden], T.F32)
        m.add(b + "ffn_gate.weight", [hidden, ff], T.Q4_K)
        m.add(b + "ffn_up.weight", [hidden, ff], T.Q4_K)
        m.add(b + "ffn_down.weight", [ff, hidden], T.Q6_K if more(i) else T.Q4_K)
    m.add("output_norm.weight", [hidden], T.F32)
    if not tied:
        m.add("output.weight", [hidden, vocab], T.Q6_K)
    return m


def qwen3_moe_like():
    """Qwen3-30B-A3B shapes: 128 stacked experts, q/k norms, F32 routers."""
    arch, layers, hidden, heads, kv, hd, e, ff_e, vocab = "qwen3moe", 48, 2048, 32, 4, 128, 128, 768, 151936
    m = Model(arch)
    m.kv = {
        f"{arch}.block_count": ("uint32", layers),
        f"{arch}.embedding_length": ("uint32", hidden),
        f"{arch}.feed_forward_length": ("uint32", 6144),
        f"{arch}.attention.head_count": ("uint32", heads),
        f"{arch}.attention.head_count_kv": ("uint32", kv),
        f"{arch}.attention.key_length": ("uint32", hd),
        f"{arch}.attention.value_length": ("uint32", hd),
        f"{arch}.expert_count": ("uint32", e),
        f"{arch}.expert_used_count": ("uint32", 8),
        f"{arch}.expert_feed_forward_length": ("uint32", ff_e),
        "general.file_type": ("uint32", 15),
    }
    m.add("token_embd.weight", [hidden, vocab], T.Q4_K)
    for i in range(layers):
        b = f"blk.{i}."
        m.add(b + "attn_norm.weight", [hidden], T.F32)
        m.add(b + "attn_q.weight", [hidden, heads * hd], T.Q4_K)
        m.add(b + "attn_k.weight", [hidden, kv * hd], T.Q4_K)
        m.add(b + "attn_v.weight", [hidden, kv * hd], T.Q6_K)
        m.add(b + "attn_q_norm.weight", [hd], T.F32)
        m.add(b + "attn_k_norm.weight", [hd], T.F32)
        m.add(b + "attn_output.weight", [heads * hd, hidden], T.Q4_K)
        m.add(b + "ffn_norm.weight", [hidden], T.F32)
        m.add(b + "ffn_gate_inp.weight", [hidden, e], T.F32)
        m.add(b + "ffn_gate_exps.weight", [hidden, ff_e, e], T.Q4_K)
        m.add(b + "ffn_up_exps.weight", [hidden, ff_e, e], T.Q4_K)
        m.add(b + "ffn_down_exps.weight", [ff_e, hidden, e], T.Q8_0)  # 768 is not whole 256-blocks
    m.add("output_norm.weight", [hidden], T.F32)
    m.add("output.weight", [hidden, vocab], T.Q6_K)
    return m


def deepseek_v2_lite_split_kv_b():
    """DeepSeek-V2-Lite as current converters write it: kv_b split into attn_k_b
    and attn_v_b, key_length_mla / value_length_mla, shared experts, one
    leading dense layer."""
    arch, layers, hidden, heads, vocab = "deepseek2", 27, 2048, 16, 102400
    nope, rope, v, kv_rank, e, ff_e, ff = 128, 64, 128, 512, 64, 1408, 10944
    m = Model(arch)
    m.kv = {
        f"{arch}.block_count": ("uint32", layers),
        f"{arch}.embedding_length": ("uint32", hidden),
        f"{arch}.feed_forward_length": ("uint32", ff),
        f"{arch}.attention.head_count": ("uint32", heads),
        f"{arch}.attention.head_count_kv": ("uint32", 1),
        f"{arch}.attention.key_length": ("uint32", kv_rank + rope),
        f"{arch}.attention.value_length": ("uint32", kv_rank),
        f"{arch}.attention.key_length_mla": ("uint32", nope + rope),
        f"{arch}.attention.value_length_mla": ("uint32", v),
        f"{arch}.attention.kv_lora_rank": ("uint32", kv_rank),
        f"{arch}.rope.dimension_count": ("uint32", rope),
        f"{arch}.expert_count": ("uint32", e),
        f"{arch}.expert_used_count": ("uint32", 6),
        f"{arch}.expert_shared_count": ("uint32", 2),
        f"{arch}.expert_feed_forward_length": ("uint32", ff_e),
        f"{arch}.leading_dense_block_count": ("uint32", 1),
        "general.file_type": ("uint32", 7),
    }
    m.add("token_embd.weight", [hidden, vocab], T.Q8_0)
    for i in range(layers):
        b = f"blk.{i}."
        m.add(b + "attn_norm.weight", [hidden], T.F32)
        m.add(b + "attn_q.weight", [hidden, heads * (nope + rope)], T.Q8_0)
        m.add(b + "attn_kv_a_mqa.weight", [hidden, kv_rank + rope], T.Q8_0)
        m.add(b + "attn_kv_a_norm.weight", [kv_rank], T.F32)
        m.add(b + "attn_k_b.weight", [nope, kv_rank, heads], T.Q8_0)
        m.add(b + "attn_v_b.weight", [kv_rank, v, heads], T.Q8_0)
        m.add(b + "attn_output.weight", [heads * v, hidden], T.Q8_0)
        m.add(b + "ffn_norm.weight", [hidden], T.F32)
        if i == 0:
            m.add(b + "ffn_gate.weight", [hidden, ff], T.Q8_0)
            m.add(b + "ffn_up.weight", [hidden, ff], T.Q8_0)
            m.add(b + "ffn_down.weight", [ff, hidden], T.Q8_0)
        else:
            m.add(b + "ffn_gate_inp.weight", [hidden, e], T.F32)
            m.add(b + "ffn_gate_exps.weight", [hidden, ff_e, e], T.Q8_0)
            m.add(b + "ffn_up_exps.weight", [hidden, ff_e, e], T.Q8_0)
            m.add(b + "ffn_down_exps.weight", [ff_e, hidden, e], T.Q8_0)
            m.add(b + "ffn_gate_shexp.weight", [hidden, 2 * ff_e], T.Q8_0)
            m.add(b + "ffn_up_shexp.weight", [hidden, 2 * ff_e], T.Q8_0)
            m.add(b + "ffn_down_shexp.weight", [2 * ff_e, hidden], T.Q8_0)
    m.add("output_norm.weight", [hidden], T.F32)
    m.add("output.weight", [hidden, vocab], T.Q8_0)
    return m


CASES = {
    # name: (model, architecture fields qmath must derive, published parameter count or None)
    "llama3_8b_q4_k_m": (lambda: llama_like("llama", 32, 4096, 32, 8, 14336, 128256),
                         {"layers": 32, "kv_heads": 8, "head_dim": 128, "vocab": 128256, "tied_embeddings": False},
                         8_030_261_248),
    "qwen2_5_0_5b_tied": (lambda: llama_like("qwen2", 24, 896, 14, 2, 4864, 151936, tied=True),
                          {"layers": 24, "kv_heads": 2, "head_dim": 64, "tied_embeddings": True}, None),
    "qwen3_30b_a3b": (qwen3_moe_like, {"experts": 128, "active_experts": 8, "expert_intermediate": 768,
                                       "qk_norm": True, "head_dim": 128}, 30_532_122_624),
    "deepseek_v2_lite_split": (deepseek_v2_lite_split_kv_b,
                               {"kv_lora_rank": 512, "qk_rope_head_dim": 64, "head_dim": 192, "value_head_dim": 128,
                                "experts": 64, "shared_expert_intermediate": 2816, "first_dense_layers": 1},
                               15_706_484_224),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gguf_written_by_gguf_py_is_priced_as_stored(name, model_info, tmp_path):
    build, fields, published = CASES[name]
    model = build()
    path = tmp_path / f"{name}.gguf"
    write_sparse(path, model)
    assert path.stat().st_blocks * 512 < 16 << 20, "the tensor data stays a hole"

    reader = gguf.GGUFReader(str(path))
    status, got = model_info(path)
    assert status == 0, got
    assert got["format"] == "GGUF"
    # Exactly what gguf-py's reader computes from the same file.
    assert got["weight_bytes"] == sum(int(t.n_bytes) for t in reader.tensors)
    assert got["parameter_count"] == sum(int(t.n_elements) for t in reader.tensors)
    by_name = {t["name"]: t for t in got["tensors"]}
    assert len(by_name) == len(reader.tensors)
    for t in reader.tensors:
        mine = by_name[t.name]
        assert mine["bytes"] == int(t.n_bytes)
        assert mine["elements"] == int(t.n_elements)
        assert mine["shape"] == [int(d) for d in t.shape]
        assert mine["dtype"] == t.tensor_type.name.lower()
    # The architecture, and its parameter count equal to the file's.
    for key, value in fields.items():
        assert got["architecture"][key] == value, key
    assert got["architecture"]["parameters"] == got["parameter_count"]
    assert got["notes"] == []
    if published is not None:
        assert got["parameter_count"] == published


def test_truncated_and_malformed_files_are_one_line_errors(model_info, tmp_path):
    path = tmp_path / "model.gguf"
    write_sparse(path, llama_like("llama", 2, 256, 4, 2, 512, 1024))
    header = (path.stat().st_size, path.read_bytes()[:4096])
    for cut in (3, 24, 100, 1000, 2000):
        bad = tmp_path / f"cut{cut}.gguf"
        bad.write_bytes(header[1][:cut])
        status, err = model_info(bad)
        assert status == 2
        assert err.startswith(f"qmath::io::load_model: {bad}: ")
        assert "\n" not in err
    # A count far beyond the bytes left.
    data = bytearray(path.read_bytes()[:4096])
    data[8:16] = (1 << 62).to_bytes(8, "little")
    bad = tmp_path / "count.gguf"
    bad.write_bytes(bytes(data))
    status, err = model_info(bad)
    assert status == 2 and "tensor infos cannot fit" in err
