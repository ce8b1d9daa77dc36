#!/usr/bin/env python3
"""Writes GGUF files with the real metadata and tensor shapes of well-known
models whose tensor data is a hole (a sparse file): a 70B model costs a few
kilobytes of disk, and llama.cpp's dry run (llama_model_params.no_alloc) reads
only the header.

Shapes are the models' config.json values (the same ones qmath's catalog,
include/qmath/models/catalog.hpp, cites); tensor names, the F32 tensors and the
metadata keys are those convert_hf_to_gguf.py writes and llama.cpp's loaders
(src/models/<arch>.cpp load_arch_hparams / load_arch_tensors) read.

Recipes:
  f16          2-D weights F16; norms, biases and the MoE router F32 (as
               convert_hf_to_gguf.py writes them)
  <ftype>      e.g. q4_k_m, q8_0: each tensor's type is what llama-quantize
               would choose, asked from the real llama.cpp
               (llama_dry_run types: llama_quant_compute_types)

Usage:
  make_sparse_gguf.py OUT_DIR --harness PATH [--models a,b] [--recipes f16,q4_k_m]
Prints one line per file written: MODEL RECIPE PATH.
"""
import argparse
import subprocess
import sys
from pathlib import Path

import gguf
import numpy as np
from gguf import GGMLQuantizationType as T

# config.json values; names follow qmath's catalog.
MODELS = {
    # meta-llama/Meta-Llama-3-8B
    "llama-3-8b": dict(arch="llama", layers=32, hidden=4096, heads=32, kv_heads=8, head_dim=128, ff=14336,
                       vocab=128256, ctx=8192, rope_base=500000.0),
    # meta-llama/Llama-3.1-70B
    "llama-3.1-70b": dict(arch="llama", layers=80, hidden=8192, heads=64, kv_heads=8, head_dim=128, ff=28672,
                          vocab=128256, ctx=131072, rope_base=500000.0),
    # mistralai/Mistral-7B-v0.1 (sliding_window 4096: arch llama has no window key)
    "mistral-7b": dict(arch="llama", layers=32, hidden=4096, heads=32, kv_heads=8, head_dim=128, ff=14336,
                       vocab=32000, ctx=32768, rope_base=10000.0),
    # mistralai/Mixtral-8x7B-v0.1
    "mixtral-8x7b": dict(arch="llama", layers=32, hidden=4096, heads=32, kv_heads=8, head_dim=128, ff=14336,
                         vocab=32000, ctx=32768, rope_base=1e6, experts=8, experts_used=2),
    # Qwen/Qwen2.5-7B
    "qwen2.5-7b": dict(arch="qwen2", layers=28, hidden=3584, heads=28, kv_heads=4, head_dim=128, ff=18944,
                       vocab=152064, ctx=131072, rope_base=1e6, qkv_bias=True),
    # Qwen/Qwen2.5-0.5B: tied embeddings
    "qwen2.5-0.5b": dict(arch="qwen2", layers=24, hidden=896, heads=14, kv_heads=2, head_dim=64, ff=4864,
                         vocab=151936, ctx=32768, rope_base=1e6, qkv_bias=True, tied=True),
    # Qwen/Qwen2.5-14B
    "qwen2.5-14b": dict(arch="qwen2", layers=48, hidden=5120, heads=40, kv_heads=8, head_dim=128, ff=13824,
                        vocab=152064, ctx=131072, rope_base=1e6, qkv_bias=True),
    # Qwen/Qwen3-30B-A3B: 128 experts of 768, 8 per token, q/k norms, head_dim 128
    "qwen3-30b-a3b": dict(arch="qwen3moe", layers=48, hidden=2048, heads=32, kv_heads=4, head_dim=128, ff=6144,
                          vocab=151936, ctx=40960, rope_base=1e6, experts=128, experts_used=8, expert_ff=768,
                          qk_norm=True),
    # google/gemma-2-9b: tied, head_dim 256, sliding_window 4096, softcaps 50 / 30
    "gemma-2-9b": dict(arch="gemma2", layers=42, hidden=3584, heads=16, kv_heads=8, head_dim=256, ff=14336,
                       vocab=256000, ctx=8192, rope_base=10000.0, tied=True, sliding_window=4096),
    # microsoft/Phi-3-mini-4k-instruct: fused qkv and gate_up, sliding_window 2047
    "phi-3-mini": dict(arch="phi3", layers=32, hidden=3072, heads=32, kv_heads=32, head_dim=96, ff=8192,
                       vocab=32064, ctx=4096, rope_base=10000.0, sliding_window=2047),
    # deepseek-ai/DeepSeek-V2-Lite: MLA (kv_lora_rank 512, rope 64, nope 128, v 128), 1 dense layer,
    # 64 experts of 1408, 6 per token, 2 shared experts
    "deepseek-v2-lite": dict(arch="deepseek2", layers=27, hidden=2048, heads=16, kv_heads=16, ff=10944,
                             vocab=102400, ctx=163840, rope_base=10000.0, experts=64, experts_used=6,
                             expert_ff=1408, shared_experts=2, dense_lead=1, kv_lora=512, rope_dim=64,
                             nope_dim=128, v_dim=128),
}

F32_SUFFIXES = ("_norm.weight", ".bias", "ffn_gate_inp.weight", "_norm_b.weight")


def tensors(m):
    """(name, ne) for every tensor, ne in ggml order (ne[0] = row length)."""
    h, L = m["hidden"], m["layers"]
    out = [("token_embd.weight", (h, m["vocab"])), ("output_norm.weight", (h,))]
    if not m.get("tied"):
        out.append(("output.weight", (h, m["vocab"])))
    arch = m["arch"]
    for i in range(L):
        b = f"blk.{i}."
        out.append((b + "attn_norm.weight", (h,)))
        if arch == "deepseek2":
            n, rope, nope, v, r = m["heads"], m["rope_dim"], m["nope_dim"], m["v_dim"], m["kv_lora"]
            out += [(b + "attn_q.weight", (h, n * (nope + rope))),
                    (b + "attn_kv_a_mqa.weight", (h, r + rope)),
                    (b + "attn_kv_a_norm.weight", (r,)),
                    # convert_hf_to_gguf.py splits kv_b_proj into k_b and v_b (3-D, per head)
                    (b + "attn_k_b.weight", (nope, r, n)),
                    (b + "attn_v_b.weight", (r, v, n)),
                    (b + "attn_output.weight", (n * v, h))]
        else:
            hd = m["head_dim"]
            q, kv = m["heads"] * hd, m["kv_heads"] * hd
            if arch == "phi3":
                out.append((b + "attn_qkv.weight", (h, q + 2 * kv)))
            else:
                out += [(b + "attn_q.weight", (h, q)), (b + "attn_k.weight", (h, kv)),
                        (b + "attn_v.weight", (h, kv))]
                if m.get("qkv_bias"):
                    out += [(b + "attn_q.bias", (q,)), (b + "attn_k.bias", (kv,)), (b + "attn_v.bias", (kv,))]
            if m.get("qk_norm"):
                out += [(b + "attn_q_norm.weight", (hd,)), (b + "attn_k_norm.weight", (hd,))]
            out.append((b + "attn_output.weight", (q, h)))
        if arch == "gemma2":
            out.append((b + "post_attention_norm.weight", (h,)))
        out.append((b + "ffn_norm.weight", (h,)))
        moe = m.get("experts", 0) and i >= m.get("dense_lead", 0)
        if moe:
            e, ef = m["experts"], m.get("expert_ff", m["ff"])
            out += [(b + "ffn_gate_inp.weight", (h, e)),
                    (b + "ffn_gate_exps.weight", (h, ef, e)),
                    (b + "ffn_up_exps.weight", (h, ef, e)),
                    (b + "ffn_down_exps.weight", (ef, h, e))]
            if m.get("shared_experts"):
                sf = ef * m["shared_experts"]
                out += [(b + "ffn_gate_shexp.weight", (h, sf)), (b + "ffn_up_shexp.weight", (h, sf)),
                        (b + "ffn_down_shexp.weight", (sf, h))]
        elif arch == "phi3":
            out += [(b + "ffn_up.weight", (h, 2 * m["ff"])), (b + "ffn_down.weight", (m["ff"], h))]
        else:
            out += [(b + "ffn_gate.weight", (h, m["ff"])), (b + "ffn_up.weight", (h, m["ff"])),
                    (b + "ffn_down.weight", (m["ff"], h))]
        if arch == "gemma2":
            out.append((b + "post_ffw_norm.weight", (h,)))
    return out


def f16_type(name, ne):
    if len(ne) == 1 or name.endswith(F32_SUFFIXES):
        return T.F32
    return T.F16


def nbytes(ne, qtype):
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    n = 1
    for d in ne:
        n *= d
    assert ne[0] % block == 0, (ne, qtype)
    return n // block * size


def add_metadata(w, m, file_type):
    a = m["arch"]
    w.add_string("general.name", "qmath sparse " + a)
    w.add_uint32("general.file_type", file_type)
    w.add_uint32(f"{a}.block_count", m["layers"])
    w.add_uint32(f"{a}.context_length", m["ctx"])
    w.add_uint32(f"{a}.embedding_length", m["hidden"])
    w.add_uint32(f"{a}.feed_forward_length", m["ff"])
    w.add_uint32(f"{a}.attention.head_count", m["heads"])
    # MLA caches one latent "head" per token: convert_hf_to_gguf.py writes head_count_kv 1
    w.add_uint32(f"{a}.attention.head_count_kv", 1 if a == "deepseek2" else m["kv_heads"])
    w.add_float32(f"{a}.attention.layer_norm_rms_epsilon", 1e-5)
    w.add_float32(f"{a}.rope.freq_base", m["rope_base"])
    w.add_uint32(f"{a}.vocab_size", m["vocab"])
    if a == "deepseek2":
        w.add_uint32(f"{a}.attention.kv_lora_rank", m["kv_lora"])
        w.add_uint32(f"{a}.attention.key_length", m["kv_lora"] + m["rope_dim"])
        w.add_uint32(f"{a}.attention.value_length", m["kv_lora"])
        w.add_uint32(f"{a}.attention.key_length_mla", m["nope_dim"] + m["rope_dim"])
        w.add_uint32(f"{a}.attention.value_length_mla", m["v_dim"])
        w.add_uint32(f"{a}.rope.dimension_count", m["rope_dim"])
        w.add_uint32(f"{a}.leading_dense_block_count", m["dense_lead"])
        w.add_uint32(f"{a}.expert_shared_count", m["shared_experts"])
        w.add_float32(f"{a}.expert_weights_scale", 1.0)
        w.add_uint32(f"{a}.expert_gating_func", 1)
    else:
        w.add_uint32(f"{a}.attention.key_length", m["head_dim"])
        w.add_uint32(f"{a}.attention.value_length", m["head_dim"])
        w.add_uint32(f"{a}.rope.dimension_count", m["head_dim"])
    if m.get("experts"):
        w.add_uint32(f"{a}.expert_count", m["experts"])
        w.add_uint32(f"{a}.expert_used_count", m["experts_used"])
        if "expert_ff" in m:
            w.add_uint32(f"{a}.expert_feed_forward_length", m["expert_ff"])
    if m.get("sliding_window"):
        w.add_uint32(f"{a}.attention.sliding_window", m["sliding_window"])
    if a == "gemma2":
        w.add_float32(f"{a}.attn_logit_softcapping", 50.0)
        w.add_float32(f"{a}.final_logit_softcapping", 30.0)
    # no tokenizer: llama.cpp adds vocab_size dummy tokens (llama-vocab.cpp, tokenizer "none")
    w.add_string("tokenizer.ggml.model", "none")


# llama_ftype numbers (include/llama.h)
FTYPES = {"f16": 1, "q4_0": 2, "q8_0": 7, "q6_k": 18, "q4_k_m": 15, "q5_k_m": 17, "q3_k_m": 12, "q2_k": 10}


def write(path, m, types, file_type):
    w = gguf.GGUFWriter(str(path), m["arch"])
    add_metadata(w, m, file_type)
    for name, ne in tensors(m):
        qt = types[name]
        n = nbytes(ne, qt)
        # numpy order (reversed ne); a non-uint8 dtype keeps the shape in elements
        w.add_tensor_info(name, list(reversed(ne)), np.float32, n, raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    fout = w.fout[0]
    align = gguf.GGUF_DEFAULT_ALIGNMENT
    start = (fout.tell() + align - 1) // align * align
    end = start
    for ti in w.tensors[0].values():
        end += (ti.nbytes + align - 1) // align * align
    fout.truncate(end)  # the tensor data is a hole
    w.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--harness", help="llama_dry_run binary (needed for quantized recipes)")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--recipes", default="f16,q4_k_m")
    args = ap.parse_args()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for key in args.models.split(","):
        m = MODELS[key]
        f16_types = {name: f16_type(name, ne) for name, ne in tensors(m)}
        f16_path = out / f"{key}-f16.gguf"
        write(f16_path, m, f16_types, FTYPES["f16"])
        for recipe in args.recipes.split(","):
            if recipe == "f16":
                print(key, recipe, f16_path, flush=True)
                continue
            if not args.harness:
                sys.exit("make_sparse_gguf: quantized recipes need --harness")
            res = subprocess.run([args.harness, "types", str(f16_path), recipe], check=True,
                                 capture_output=True, text=True)
            types = dict(f16_types)
            for line in res.stdout.splitlines():
                name, tname = line.split()
                types[name] = T[tname.upper()]
            path = out / f"{key}-{recipe}.gguf"
            write(path, m, types, FTYPES[recipe])
            print(key, recipe, path, flush=True)


if __name__ == "__main__":
    main()
