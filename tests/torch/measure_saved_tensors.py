#!/usr/bin/env python3
"""Measure the activation bytes autograd keeps after a training forward pass.

Builds small models from transformers configs (BERT, Llama and Qwen2 shapes,
randomly initialised, CPU), runs one forward pass with labels (loss included)
under torch.autograd.graph.saved_tensors_hooks and sums the bytes of every
distinct storage the hooks see, leaving out parameters and buffers (their
memory is the weights'). The bytes of a saved tensor do not depend on the
device, so these numbers hold for a CUDA run of the same shapes.

Dimensions measured (one CSV row each):
  model        bert (BertForSequenceClassification), llama, qwen2 (ForCausalLM)
  seq, batch   two sequence lengths, micro-batch 1 and 2
  attention    eager | sdpa (torch.nn.functional.scaled_dot_product_attention;
               on CPU its fused kernel is _scaled_dot_product_flash_attention_for_cpu)
  dropout      0.1 on every dropout the config has (BERT hidden and attention
               dropout, Llama/Qwen attention_dropout, LoRA lora_dropout) | 0
  checkpoint   gradient checkpointing off | on (use_reentrant=True: the
               checkpoint saves each layer's inputs through save_for_backward,
               which the hooks see; the non-reentrant variant, transformers'
               default, keeps the same input tensors alive through its
               recompute closure instead)
  method       full (all parameters train) | lora (peft, r=8, the model's
               default targets: query/value, q_proj/v_proj) | qlora (peft
               r=16 on all linear layers over a bitsandbytes NF4 base,
               prepare_model_for_kbit_training)
  dtype        bf16: weights and activations in bfloat16; f32: all float32
               (full fine-tuning only). QLoRA rows say bf16 (the compute dtype
               of the 4-bit matmuls), but prepare_model_for_kbit_training
               upcasts the norms to float32, so their activations are float32.
               Autocast (mixed precision) is not measured here.

QLoRA on CPU: bitsandbytes quantizes Params4bit on the CPU backend, so the
4-bit base is real. Its autograd function MatMul4Bit keeps (None, B) in
ctx.tensors (not through save_for_backward): B is the packed weight, a
parameter, and the input is not kept. The script walks the autograd graph
after the forward pass and adds any non-parameter tensor held in a node's
`tensors` attribute, so nothing a custom function keeps is missed.

Not counted: the returned logits (an output, alive while the caller holds
it), the temporaries freed during forward, and the recompute working set of
gradient checkpointing during backward (one layer's saved tensors, which the
checkpoint-off rows measure).

Usage: measure_saved_tensors.py [OUT.csv]   (default:
tests/data/training_activations/saved_tensors.csv next to this script's repo)
"""
import csv
import gc
import itertools
import os
import sys
import warnings

import torch

warnings.filterwarnings("ignore")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import transformers  # noqa: E402
from transformers import (BertConfig, BertForSequenceClassification, LlamaConfig, LlamaForCausalLM,  # noqa: E402
                          Qwen2Config, Qwen2ForCausalLM)

try:
    import peft
    import bitsandbytes as bnb
except ImportError:  # pragma: no cover
    peft = None
    bnb = None

VOCAB = 2048
SHAPES = {
    # name: (config class, model class, config kwargs, lora default targets)
    "bert": (BertConfig, BertForSequenceClassification,
             dict(hidden_size=256, num_attention_heads=4, intermediate_size=1024, num_hidden_layers=2,
                  vocab_size=VOCAB, max_position_embeddings=512, num_labels=2),
             ["query", "value"]),
    "llama": (LlamaConfig, LlamaForCausalLM,
              dict(hidden_size=256, num_attention_heads=4, num_key_value_heads=2, intermediate_size=688,
                   num_hidden_layers=2, vocab_size=VOCAB, max_position_embeddings=1024),
              ["q_proj", "v_proj"]),
    "qwen2": (Qwen2Config, Qwen2ForCausalLM,
              dict(hidden_size=256, num_attention_heads=8, num_key_value_heads=2, intermediate_size=704,
                   num_hidden_layers=2, vocab_size=VOCAB, max_position_embeddings=1024,
                   tie_word_embeddings=True),
              ["q_proj", "v_proj"]),
}
SEQS = (128, 256)
BATCHES = (1, 2)
LORA = {"lora": dict(r=8, targets="default"), "qlora": dict(r=16, targets="all-linear")}

FIELDS = ["model", "layers", "hidden", "heads", "kv_heads", "head_dim", "intermediate", "vocab", "norm",
          "ffn", "tied", "qkv_bias", "seq", "batch", "attention", "dropout", "checkpointing", "method",
          "lora_rank", "lora_targets", "dtype", "saved_bytes", "saved_tensors"]


def build(name, attention, dropout, checkpointing, method, dtype):
    cfg_cls, model_cls, kw, default_targets = SHAPES[name]
    kw = dict(kw)
    p = 0.1 if dropout else 0.0
    if name == "bert":
        kw.update(hidden_dropout_prob=p, attention_probs_dropout_prob=p)
    else:
        kw.update(attention_dropout=p)
    cfg = cfg_cls(**kw)
    cfg._attn_implementation = attention
    torch.manual_seed(0)
    model = model_cls(cfg)
    model.config._attn_implementation = attention
    if method == "qlora":
        model = model.to(torch.bfloat16)
        quantize_linears(model, skip=("lm_head", "classifier", "pooler"))
        model = peft.prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    else:
        model = model.to(torch.bfloat16 if dtype == "bf16" else torch.float32)
    if method in LORA:
        spec = LORA[method]
        targets = default_targets if spec["targets"] == "default" else "all-linear"
        lcfg = peft.LoraConfig(r=spec["r"], lora_alpha=2 * spec["r"], target_modules=targets,
                               lora_dropout=p, bias="none",
                               task_type="SEQ_CLS" if name == "bert" else "CAUSAL_LM")
        model = peft.get_peft_model(model, lcfg)
        if name == "bert":  # SEQ_CLS makes the classifier head trainable (modules_to_save)
            pass
    if checkpointing:
        base = model.get_base_model() if method in LORA else model
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": True})
        # reentrant checkpointing needs inputs that require grad when the embeddings are frozen
        base.enable_input_require_grads()
    model.train()
    return model, cfg


def quantize_linears(model, skip):
    """Replace every nn.Linear (but the heads) by a bitsandbytes NF4 Linear4bit,
    as from_pretrained(quantization_config=BitsAndBytesConfig(load_in_4bit=True,
    bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
    bnb_4bit_compute_dtype=torch.bfloat16)) does on a GPU."""
    for parent_name, parent in list(model.named_modules()):
        for child_name, child in list(parent.named_children()):
            full = f"{parent_name}.{child_name}" if parent_name else child_name
            if not isinstance(child, torch.nn.Linear) or any(s in full for s in skip):
                continue
            q = bnb.nn.Linear4bit(child.in_features, child.out_features, bias=child.bias is not None,
                                  compute_dtype=torch.bfloat16, compress_statistics=True, quant_type="nf4")
            q.weight = bnb.nn.Params4bit(child.weight.data.float(), requires_grad=False,
                                         compress_statistics=True, quant_type="nf4")
            if child.bias is not None:
                q.bias = torch.nn.Parameter(child.bias.data, requires_grad=False)
            q = q.to("cpu")
            if not q.weight.bnb_quantized:
                q.weight._quantize("cpu")
            setattr(parent, child_name, q)
    # from_pretrained marks a 4-bit model so peft's kbit preparation recognises it
    model.is_loaded_in_4bit = True
    model.config.quantization_config = None


def measure(model, name, seq, batch):
    excluded = {t.untyped_storage().data_ptr() for t in model.parameters()}
    excluded |= {t.untyped_storage().data_ptr() for t in model.buffers()}
    storages = {}

    def add(t):
        s = t.untyped_storage()
        ptr = s.data_ptr()
        if ptr in excluded or ptr == 0:
            return
        storages[ptr] = s.nbytes()

    def pack(t):
        add(t)
        return t

    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, VOCAB, (batch, seq), generator=g)
    if name == "bert":
        inputs = dict(input_ids=ids, labels=torch.randint(0, 2, (batch,), generator=g))
    else:
        inputs = dict(input_ids=ids, labels=ids)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(**inputs)
    # tensors custom autograd functions keep on their ctx (bitsandbytes MatMul4Bit)
    seen, stack = set(), [out.loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        for t in getattr(node, "tensors", None) or ():
            if isinstance(t, torch.Tensor):
                add(t)
        stack.extend(n for n, _ in node.next_functions)
    return sum(storages.values()), len(storages)


def cases():
    for name, seq, batch, attention, dropout, ckpt, method in itertools.product(
            SHAPES, SEQS, BATCHES, ("eager", "sdpa"), (False, True), (False, True), ("full", "lora", "qlora")):
        dtypes = ("bf16", "f32") if method == "full" else ("bf16",)
        for dtype in dtypes:
            yield name, seq, batch, attention, dropout, ckpt, method, dtype


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        here, "..", "data", "training_activations", "saved_tensors.csv")
    if peft is None:
        sys.exit("measure_saved_tensors.py: needs peft and bitsandbytes")
    rows = []
    all_cases = list(cases())
    for i, (name, seq, batch, attention, dropout, ckpt, method, dtype) in enumerate(all_cases):
        model, cfg = build(name, attention, dropout, ckpt, method, dtype)
        saved, count = measure(model, name, seq, batch)
        del model
        gc.collect()
        heads = cfg.num_attention_heads
        rows.append(dict(
            model=name, layers=cfg.num_hidden_layers, hidden=cfg.hidden_size, heads=heads,
            kv_heads=getattr(cfg, "num_key_value_heads", heads) or heads,
            head_dim=getattr(cfg, "head_dim", None) or cfg.hidden_size // heads,
            intermediate=cfg.intermediate_size, vocab=cfg.vocab_size,
            norm="layer" if name == "bert" else "rms", ffn="ungated" if name == "bert" else "gated",
            tied=int(bool(getattr(cfg, "tie_word_embeddings", False))) if name != "bert" else 0,
            qkv_bias=int(name in ("bert", "qwen2")), seq=seq, batch=batch, attention=attention,
            dropout=int(dropout), checkpointing=int(ckpt), method=method,
            lora_rank=LORA[method]["r"] if method in LORA else 0,
            lora_targets=LORA[method]["targets"] if method in LORA else "",
            dtype=dtype, saved_bytes=saved, saved_tensors=count))
        print(f"[{i + 1}/{len(all_cases)}] {name} s={seq} b={batch} {attention} dropout={int(dropout)} "
              f"ckpt={int(ckpt)} {method} {rows[-1]['dtype']}: {saved} B in {count} tensors", file=sys.stderr)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w", newline="") as f:
        f.write(f"# torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}, "
                f"bitsandbytes {bnb.__version__}; written by tests/torch/measure_saved_tensors.py\n")
        w = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {len(rows)} rows to {out_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
