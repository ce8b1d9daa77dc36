#pragma once
// Private: the size of the whole array call a kernel runs a part of. Kernels
// that pick their store path by size (streaming stores for outputs that do
// not fit in the caches) ask call_elements(n) instead of looking at n, so
// that each chunk of a call split over threads is written the way the whole
// call would be. Set by detail::for_each_chunk (kernels/parallel.hpp).

#include <cstddef>

namespace qmath::detail {

// Elements of the whole call on this thread; 0 outside a split call.
inline thread_local std::size_t whole_call_elements = 0;

inline std::size_t call_elements(std::size_t chunk_elements) noexcept {
  return whole_call_elements > chunk_elements ? whole_call_elements : chunk_elements;
}

}  // namespace qmath::detail
