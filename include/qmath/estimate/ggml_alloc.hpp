#pragma once
// ggml's graph allocator, replayed on sizes: the bytes of the compute buffer
// ggml_gallocr reserves for a graph. The rules are ggml's own
// (ggml/src/ggml-alloc.c, v0.5.0):
//   - leafs are placed first, in graph order, then the graph inputs, then
//     each node in order (ggml_gallocr_alloc_graph_impl);
//   - a node whose op can run in place (ggml_op_can_inplace: ADD, MUL,
//     RMS_NORM, ROPE, SOFT_MAX, UNARY, SCALE, ...) takes over a parent that
//     has the same layout, is owned by the allocator, is no graph output and
//     has no other child or view (ggml_gallocr_allocate_node);
//   - a tensor is freed when its last child and last view are done;
//     outputs and external tensors (weights, KV cache) are never freed;
//   - the dynamic allocator (ggml_dyn_tallocr_alloc) rounds each size up to
//     the buffer's alignment, takes the smallest free block that fits
//     (ties: the later one), else the block at the end, and merges freed
//     blocks with their neighbours; the buffer is the highest end reached.
// A graph here is the list of tensors in ggml's order with their byte sizes,
// views and sources; llama_cpp_graph.hpp builds llama.cpp's graphs.
// This header does not include xsimd.

#include <array>
#include <cstdint>
#include <vector>

#include "qmath/detail/checked.hpp"

namespace qmath::ggml_alloc {

// A tensor's layout, for ggml_are_same_layout: its type and shape (the
// tensors the allocator owns are contiguous, so equal shapes mean equal
// strides; views never take part in the in-place reuse).
struct layout {
  std::uint32_t type = 0;
  std::array<std::int64_t, 4> ne{};
  friend constexpr bool operator==(const layout&, const layout&) = default;
};

struct tensor {
  std::uint64_t bytes = 0;  // ggml_nbytes
  layout shape{};
  std::int32_t view_src = -1;  // the tensor this one views (its data)
  std::array<std::int32_t, 4> src{-1, -1, -1, -1};
  bool leaf = false;      // no op: a weight, a cache or an input
  bool external = false;  // data outside the compute buffer (weights, KV cache)
  bool input = false;     // ggml_set_input
  bool output = false;    // ggml_set_output
  bool inplace = false;   // ggml_op_can_inplace(op)
};

struct graph {
  std::vector<tensor> tensors;  // every tensor, leafs and nodes
  std::vector<std::int32_t> leafs;
  std::vector<std::int32_t> nodes;
};

namespace detail {

struct block {
  std::uint64_t offset, size;
};

class dyn_allocator {
 public:
  constexpr explicit dyn_allocator(std::uint64_t alignment) : alignment_(alignment) {
    blocks_.push_back({0, std::uint64_t{1} << 62});
  }
  constexpr std::uint64_t aligned(std::uint64_t n) const { return (n + alignment_ - 1) / alignment_ * alignment_; }
  constexpr std::uint64_t alloc(std::uint64_t n) {
    n = aligned(n);
    std::size_t best = blocks_.size();
    std::uint64_t best_size = ~std::uint64_t{0};
    for (std::size_t i = 0; i + 1 < blocks_.size(); ++i) {
      if (blocks_[i].size >= n && blocks_[i].size <= best_size) {
        best = i;
        best_size = blocks_[i].size;
      }
    }
    if (best == blocks_.size()) best = blocks_.size() - 1;  // the end block grows the buffer
    const std::uint64_t offset = blocks_[best].offset;
    blocks_[best].offset += n;
    blocks_[best].size -= n;
    if (blocks_[best].size == 0) blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(best));
    const std::uint64_t end = qmath::detail::checked_add(offset, n, "qmath::ggml_alloc", "compute buffer bytes");
    if (end > max_) max_ = end;
    return offset;
  }
  constexpr void free(std::uint64_t offset, std::uint64_t n) {
    n = aligned(n);
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
      block& b = blocks_[i];
      if (b.offset + b.size == offset) {
        b.size += n;
        if (i + 1 < blocks_.size() && b.offset + b.size == blocks_[i + 1].offset) {
          b.size += blocks_[i + 1].size;
          blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(i + 1));
        }
        return;
      }
      if (offset + n == b.offset) {
        b.offset = offset;
        b.size += n;
        if (i > 0 && blocks_[i - 1].offset + blocks_[i - 1].size == b.offset) {
          blocks_[i - 1].size += b.size;
          blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(i));
        }
        return;
      }
    }
    std::size_t pos = 0;
    while (pos < blocks_.size() && blocks_[pos].offset < offset) ++pos;
    blocks_.insert(blocks_.begin() + static_cast<std::ptrdiff_t>(pos), block{offset, n});
  }
  constexpr std::uint64_t max_size() const { return max_; }

 private:
  std::uint64_t alignment_;
  std::uint64_t max_ = 0;
  std::vector<block> blocks_;
};

struct state {
  std::int32_t children = 0, views = 0;
  bool allocated = false;
  std::uint64_t offset = 0;
};

}  // namespace detail

// The compute buffer ggml_gallocr_reserve sizes for the graph.
constexpr std::uint64_t reserve_bytes(const graph& g, std::uint64_t alignment = 32) {
  detail::dyn_allocator a(alignment);
  std::vector<detail::state> s(g.tensors.size());
  const auto is_view = [&](std::int32_t t) { return g.tensors[static_cast<std::size_t>(t)].view_src >= 0; };
  const auto at = [&](std::int32_t t) -> detail::state& { return s[static_cast<std::size_t>(t)]; };
  const auto info = [&](std::int32_t t) -> const tensor& { return g.tensors[static_cast<std::size_t>(t)]; };

  const auto allocate = [&](std::int32_t t) {
    const tensor& x = info(t);
    if (x.external || at(t).allocated || is_view(t)) return;
    at(t).allocated = true;
    if (x.inplace) {
      for (std::int32_t p : x.src) {
        if (p < 0) continue;
        const tensor& px = info(p);
        if (!at(p).allocated) continue;  // not owned (external, or a view)
        if (px.output || (px.view_src >= 0 && info(px.view_src).output)) continue;
        if (!(px.shape == x.shape)) continue;
        if (at(p).children != 1 || at(p).views != 0) continue;
        at(t).offset = at(p).offset;
        at(p).allocated = false;
        const std::uint64_t mine = a.aligned(x.bytes), theirs = a.aligned(px.bytes);
        if (theirs > mine) a.free(at(p).offset + mine, theirs - mine);
        return;
      }
      // a parent that is a view of a tensor nothing else uses
      for (std::int32_t p : x.src) {
        if (p < 0 || !is_view(p)) continue;
        const tensor& px = info(p);
        const std::int32_t vs = px.view_src;
        if (!at(vs).allocated || info(vs).output) continue;
        if (!(px.shape == x.shape)) continue;
        if (at(p).children != 1 || at(p).views != 0) continue;
        if (at(vs).views != 1 || at(vs).children != 0) continue;
        at(t).offset = at(vs).offset;
        at(vs).allocated = false;
        const std::uint64_t mine = a.aligned(x.bytes), theirs = a.aligned(info(vs).bytes);
        if (theirs > mine) a.free(at(vs).offset + mine, theirs - mine);
        return;
      }
    }
    at(t).offset = a.alloc(x.bytes);
  };
  const auto release = [&](std::int32_t t) {
    if (info(t).output) return;
    a.free(at(t).offset, info(t).bytes);
    at(t).allocated = false;
  };

  for (std::int32_t l : g.leafs) allocate(l);
  for (std::int32_t n : g.nodes) {
    const tensor& x = info(n);
    if (x.view_src >= 0) at(x.view_src).views += 1;
    if (x.input) allocate(n);
    for (std::int32_t p : x.src) {
      if (p < 0) continue;
      at(p).children += 1;
      if (info(p).input) allocate(p);
    }
  }
  for (std::int32_t n : g.nodes) {
    const tensor& x = info(n);
    for (std::int32_t p : x.src)
      if (p >= 0) allocate(p);
    allocate(n);
    for (std::int32_t p : x.src) {
      if (p < 0) continue;
      detail::state& ps = at(p);
      ps.children -= 1;
      if (ps.children != 0 || ps.views != 0) continue;
      if (is_view(p)) {
        const std::int32_t vs = info(p).view_src;
        at(vs).views -= 1;
        if (at(vs).views == 0 && at(vs).children == 0 && at(vs).allocated) release(vs);
      } else if (ps.allocated) {
        release(p);
      }
    }
  }
  return a.max_size();
}

}  // namespace qmath::ggml_alloc
