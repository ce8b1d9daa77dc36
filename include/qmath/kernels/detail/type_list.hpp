#pragma once
// Private: a list of types and the index of one in it, for the dispatch
// tables (kernels/dispatch.hpp, detail/dispatch_formats.hpp).

#include <cstddef>
#include <type_traits>

namespace qmath::kernels::dispatch {

template <class... F>
struct type_list {
  static constexpr std::size_t size = sizeof...(F);
};

// Index of F in L, or L::size when absent.
template <class F, class L>
struct index_in;
template <class F, class... Fs>
struct index_in<F, type_list<Fs...>> {
  static constexpr std::size_t value = [] {
    constexpr bool same[] = {std::is_same_v<F, Fs>..., false};
    std::size_t i = 0;
    while (i < sizeof...(Fs) && !same[i]) ++i;
    return i;
  }();
};

}  // namespace qmath::kernels::dispatch
