"""safetensors files written by the safetensors package (the reference Rust
implementation's Python binding), read back by qmath::io::load_model through
qmath_model_info: the same tensors, dtypes, shapes and byte counts as the
package's own safe_open reports, one file or sharded with an index; and on
hand-made malformed headers qmath rejects exactly what the package rejects.

Run by the readers_python test (tests/readers), which sets QMATH_MODEL_INFO.
"""
import json
import struct

import pytest

np = pytest.importorskip("numpy")
safetensors = pytest.importorskip("safetensors")
from safetensors import safe_open  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

CONFIG = {
    "model_type": "llama", "num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4,
    "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 96, "torch_dtype": "float16",
    "tie_word_embeddings": False,
}


def llama_tensors(dtype):
    """The tensors transformers' LlamaForCausalLM has for CONFIG."""
    h, kv, ff, v = 64, 2 * 16, 128, 96
    t = {"model.embed_tokens.weight": (v, h), "model.norm.weight": (h,), "lm_head.weight": (v, h)}
    for i in range(2):
        b = f"model.layers.{i}."
        t.update({b + "input_layernorm.weight": (h,), b + "post_attention_layernorm.weight": (h,),
                  b + "self_attn.q_proj.weight": (h, h), b + "self_attn.k_proj.weight": (kv, h),
                  b + "self_attn.v_proj.weight": (kv, h), b + "self_attn.o_proj.weight": (h, h),
                  b + "mlp.gate_proj.weight": (ff, h), b + "mlp.up_proj.weight": (ff, h),
                  b + "mlp.down_proj.weight": (h, ff)})
    rng = np.random.default_rng(7)
    return {k: rng.standard_normal(s).astype(dtype) for k, s in t.items()}


def reference(paths):
    """What the safetensors package reads: name -> (dtype, shape)."""
    out = {}
    for p in paths:
        with safe_open(str(p), framework="np") as f:
            for k in f.keys():
                s = f.get_slice(k)
                out[k] = (s.get_dtype(), list(s.get_shape()))
    return out


def test_one_file_matches_the_package(model_info, tmp_path):
    tensors = llama_tensors(np.float16)
    save_file(tensors, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    status, got = model_info(tmp_path)
    assert status == 0, got
    assert got["format"] == "safetensors"
    ref = reference([tmp_path / "model.safetensors"])
    mine = {t["name"]: t for t in got["tensors"]}
    assert set(mine) == set(ref)
    for name, (dtype, shape) in ref.items():
        assert mine[name]["dtype"] == dtype
        assert mine[name]["shape"] == shape
        assert mine[name]["bytes"] == tensors[name].nbytes
    assert got["weight_bytes"] == sum(a.nbytes for a in tensors.values())
    assert got["parameter_count"] == sum(a.size for a in tensors.values())
    assert got["parameter_count"] == got["architecture"]["parameters"]


def test_sharded_index_matches_the_package(model_info, tmp_path):
    tensors = llama_tensors(np.float32)
    names = sorted(tensors)
    shards = {"model-00001-of-00002.safetensors": names[::2], "model-00002-of-00002.safetensors": names[1::2]}
    weight_map = {}
    for shard, keys in shards.items():
        save_file({k: tensors[k] for k in keys}, str(tmp_path / shard))
        weight_map.update({k: shard for k in keys})
    total = sum(a.nbytes for a in tensors.values())
    (tmp_path / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    status, got = model_info(tmp_path / "model.safetensors.index.json")
    assert status == 0, got
    assert got["format"] == "safetensors index"
    assert got["weight_bytes"] == total
    assert {t["name"] for t in got["tensors"]} == set(reference([tmp_path / s for s in shards]))


def test_every_numpy_dtype_has_the_package_size(model_info, tmp_path):
    arrays = {
        "f16": np.zeros((3, 5), np.float16), "f32": np.zeros(7, np.float32), "f64": np.zeros(2, np.float64),
        "i8": np.zeros(9, np.int8), "u8": np.zeros(4, np.uint8), "i16": np.zeros(3, np.int16),
        "i32": np.zeros(5, np.int32), "i64": np.zeros(2, np.int64), "b": np.zeros(6, np.bool_),
        "u16": np.zeros(3, np.uint16), "u32": np.zeros(3, np.uint32), "u64": np.zeros(1, np.uint64),
        "empty": np.zeros((0, 4), np.float32),
    }
    path = tmp_path / "dtypes.safetensors"
    save_file(arrays, str(path))
    # No config.json: the header reader alone, through its own error path.
    status, err = model_info(path)
    assert status == 2 and "no config.json beside it" in err
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    status, got = model_info(path)
    assert status == 0, got
    ref = reference([path])
    for t in got["tensors"]:
        assert (t["dtype"], t["shape"]) == tuple(ref[t["name"]])
        assert t["bytes"] == arrays[t["name"]].nbytes


def raw_file(path, header: dict, data_bytes: int, pad=b""):
    text = json.dumps(header).encode() + pad
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"\0" * data_bytes)


MALFORMED = {
    "ok": ({"a": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]}}, 8),
    "ok_padded": ({"a": {"dtype": "U8", "shape": [3], "data_offsets": [0, 3]}}, 3),
    "wrong_size": ({"a": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 6]}}, 6),
    "past_end": ({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}}, 2),
    "gap": ({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
             "b": {"dtype": "U8", "shape": [2], "data_offsets": [4, 6]}}, 6),
    "overlap": ({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
                 "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}}, 6),
    "trailing_data": ({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}}, 5),
    "unknown_dtype": ({"a": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 1]}}, 1),
    "negative_dim": ({"a": {"dtype": "U8", "shape": [-2], "data_offsets": [0, 2]}}, 2),
    "backwards": ({"a": {"dtype": "U8", "shape": [0], "data_offsets": [2, 0]}}, 2),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_rejects_what_the_package_rejects(name, model_info, tmp_path):
    header, data = MALFORMED[name]
    path = tmp_path / "model.safetensors"
    raw_file(path, header, data, pad=b"   " if name == "ok_padded" else b"")
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    try:
        with safe_open(str(path), framework="np") as f:
            list(f.keys())
        package_accepts = True
    except Exception:  # the package raises SafetensorError (or ValueError) on a bad header
        package_accepts = False
    status, got = model_info(path)
    assert (status == 0) == package_accepts, got
    if status != 0:
        assert got.startswith(f"qmath::io::load_model: {path}: ") and "\n" not in got
