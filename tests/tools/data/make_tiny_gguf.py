#!/usr/bin/env python3
"""Writes tests/tools/data/tiny.gguf with the `gguf` package's GGUFWriter: a
two-layer Llama (hidden 64, 4 heads, 2 KV heads, FFN 96, vocabulary 128) in
llama-quantize's MOSTLY_Q8_0 layout (2-D weights Q8_0, norms F32), and
tiny.gguf.expected with the tensor bytes and parameter count gguf's own
GGUFReader reads back. qmath-plan must report the same numbers.

    /path/to/python tests/tools/data/make_tiny_gguf.py
"""
import pathlib

import numpy as np
import gguf

here = pathlib.Path(__file__).resolve().parent
path = here / "tiny.gguf"
rng = np.random.default_rng(20241123)
hidden, heads, kv_heads, ffn, vocab, layers = 64, 4, 2, 96, 128, 2
head_dim = hidden // heads

w = gguf.GGUFWriter(str(path), "llama")
w.add_name("tiny-llama-test")
w.add_block_count(layers)
w.add_context_length(512)
w.add_embedding_length(hidden)
w.add_feed_forward_length(ffn)
w.add_head_count(heads)
w.add_head_count_kv(kv_heads)
w.add_layer_norm_rms_eps(1e-5)
w.add_vocab_size(vocab)
w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)


def matrix(name, rows, cols):
    data = rng.standard_normal((rows, cols)).astype(np.float32)
    q = gguf.quants.quantize(data, gguf.GGMLQuantizationType.Q8_0)
    w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)


def vector(name, n):
    w.add_tensor(name, np.ones(n, dtype=np.float32))


matrix("token_embd.weight", vocab, hidden)
for i in range(layers):
    vector(f"blk.{i}.attn_norm.weight", hidden)
    matrix(f"blk.{i}.attn_q.weight", heads * head_dim, hidden)
    matrix(f"blk.{i}.attn_k.weight", kv_heads * head_dim, hidden)
    matrix(f"blk.{i}.attn_v.weight", kv_heads * head_dim, hidden)
    matrix(f"blk.{i}.attn_output.weight", hidden, heads * head_dim)
    vector(f"blk.{i}.ffn_norm.weight", hidden)
    matrix(f"blk.{i}.ffn_gate.weight", ffn, hidden)
    matrix(f"blk.{i}.ffn_up.weight", ffn, hidden)
    matrix(f"blk.{i}.ffn_down.weight", hidden, ffn)
vector("output_norm.weight", hidden)
matrix("output.weight", vocab, hidden)

w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()

r = gguf.GGUFReader(str(path))
nbytes = sum(int(t.n_bytes) for t in r.tensors)
params = sum(int(t.n_elements) for t in r.tensors)
(here / "tiny.gguf.expected").write_text(f"tensor_bytes {nbytes}\nparameters {params}\n")
print(path, nbytes, params)
