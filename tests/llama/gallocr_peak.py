#!/usr/bin/env python3
"""Replays ggml's graph allocator (ggml/src/ggml-alloc.c: ggml_gallocr_alloc_graph_impl,
ggml_gallocr_allocate_node, ggml_dyn_tallocr_alloc / free_bytes) on a graph
that `llama_dry_run graph` printed, and reports the buffer size with the
tensors live at the moment the peak was reached. A study tool: it is how the
compute-buffer rules of include/qmath/estimate/llama_cpp.hpp were found.

Usage: llama_dry_run graph FILE.gguf <<< "SETTINGS" | gallocr_peak.py [--align 32] [--top 12]
"""
import argparse
import sys

INPLACE = {"FILL", "SCALE", "DIAG_MASK_ZERO", "DIAG_MASK_INF", "ADD", "ADD_ID", "ADD1", "SUB", "MUL", "DIV", "SQR",
           "SQRT", "LOG", "UNARY", "ROPE", "ROPE_BACK", "SILU_BACK", "RMS_NORM", "RMS_NORM_BACK", "CLAMP",
           "SOFT_MAX", "SOFT_MAX_BACK"}
FLAG_INPUT, FLAG_OUTPUT = 1, 2


class T:
    def __init__(self, f):
        self.kind, self.idx, self.name, self.op, self.type = f[0], int(f[1]), f[2], f[3], f[4]
        self.nbytes = int(f[5])
        fl = f[6]
        self.external = fl.endswith("x")
        self.flags = int(fl.rstrip("x"))
        self.layout = (self.type, f[7])
        self.view_src = None if f[8] == "-" else f[8]
        self.srcs = [] if f[9] == "-" else [s.split(":", 1)[1] for s in f[9].split(",")]
        self.n_children = self.n_views = 0
        self.allocated = False
        self.addr = None


class Alloc:
    def __init__(self, align):
        self.align = align
        self.blocks = [[0, 1 << 62]]
        self.max = 0
        self.live = {}

    def size(self, n):
        return (n + self.align - 1) // self.align * self.align

    def alloc(self, n, name):
        n = self.size(n)
        best, best_size = -1, None
        for i, (off, sz) in enumerate(self.blocks[:-1]):
            if sz >= n and (best_size is None or sz <= best_size):
                best, best_size = i, sz
        if best == -1:
            best = len(self.blocks) - 1
        off = self.blocks[best][0]
        self.blocks[best][0] += n
        self.blocks[best][1] -= n
        if self.blocks[best][1] == 0:
            del self.blocks[best]
        self.live[name] = (off, n)
        if off + n > self.max:
            self.max = off + n
            self.peak_live = dict(self.live)
        return off

    def free(self, off, n, name=None):
        n = self.size(n)
        if name is not None:
            self.live.pop(name, None)
        for i, b in enumerate(self.blocks):
            if b[0] + b[1] == off:
                b[1] += n
                if i + 1 < len(self.blocks) and b[0] + b[1] == self.blocks[i + 1][0]:
                    b[1] += self.blocks[i + 1][1]
                    del self.blocks[i + 1]
                return
            if off + n == b[0]:
                b[0] = off
                b[1] += n
                if i > 0 and self.blocks[i - 1][0] + self.blocks[i - 1][1] == b[0]:
                    self.blocks[i - 1][1] += b[1]
                    del self.blocks[i]
                return
        pos = 0
        while pos < len(self.blocks) and self.blocks[pos][0] < off:
            pos += 1
        self.blocks.insert(pos, [off, n])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--align", type=int, default=32)
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args()
    leafs, nodes, by = [], [], {}
    for line in sys.stdin:
        f = line.rstrip("\n").split("\t")
        if len(f) < 10 or f[0] not in ("leaf", "node"):
            continue
        t = T(f)
        by[t.name] = t
        (leafs if t.kind == "leaf" else nodes).append(t)
    A = Alloc(args.align)

    def own(t):
        return t.allocated

    def is_allocated(t):
        return t.external or t.allocated

    def allocate(t):
        if is_allocated(t) or t.view_src is not None:
            return
        t.allocated = True
        if t.op in INPLACE:
            for pn in t.srcs:
                p = by[pn]
                if not own(p) and not (p.view_src and by[p.view_src].allocated and False):
                    if not p.allocated:
                        continue
                if p.flags & FLAG_OUTPUT or (p.view_src and by[p.view_src].flags & FLAG_OUTPUT):
                    continue
                if p.layout != t.layout:
                    continue
                if p.n_children == 1 and p.n_views == 0:
                    if p.view_src is not None:
                        vs = by[p.view_src]
                        if vs.n_views == 1 and vs.n_children == 0:
                            t.addr = vs.addr
                            p.allocated = False
                            vs.allocated = False
                            A.live.pop(vs.name, None)
                            A.live[t.name] = (t.addr, A.size(t.nbytes))
                            if A.size(vs.nbytes) > A.size(t.nbytes):
                                A.free(t.addr + A.size(t.nbytes), A.size(vs.nbytes) - A.size(t.nbytes))
                            return
                    else:
                        t.addr = p.addr
                        p.allocated = False
                        A.live.pop(p.name, None)
                        A.live[t.name] = (t.addr, A.size(t.nbytes))
                        if A.size(p.nbytes) > A.size(t.nbytes):
                            A.free(t.addr + A.size(t.nbytes), A.size(p.nbytes) - A.size(t.nbytes))
                        return
        t.addr = A.alloc(t.nbytes, t.name)

    def free(t):
        if t.flags & FLAG_OUTPUT:
            return
        A.free(t.addr, t.nbytes, t.name)
        t.allocated = False

    for t in leafs:
        allocate(t)
    for t in nodes:
        if t.view_src is not None and t.op != "NONE":
            by[t.view_src].n_views += 1
        if t.flags & FLAG_INPUT:
            allocate(t)
        for sn in t.srcs:
            s = by[sn]
            s.n_children += 1
            if s.flags & FLAG_INPUT:
                allocate(s)
    for t in nodes:
        for sn in t.srcs:
            allocate(by[sn])
        allocate(t)
        for sn in t.srcs:
            p = by[sn]
            p.n_children -= 1
            if p.n_children == 0 and p.n_views == 0:
                if p.view_src is not None:
                    vs = by[p.view_src]
                    vs.n_views -= 1
                    if vs.n_views == 0 and vs.n_children == 0 and vs.allocated:
                        free(vs)
                elif p.allocated:
                    free(p)
    print(A.max)
    live = sorted(A.peak_live.items(), key=lambda kv: kv[1][0])
    for name, (off, n) in live[-args.top:]:
        print(f"  {off:>12} {n:>12} {name}")


if __name__ == "__main__":
    main()
