#pragma once
// Private: builds one tier's dispatch table (kernels/dispatch.hpp) from the
// kernels a translation unit is compiled for. Only src/qmath_dispatch.cpp
// includes it, once per tier.

#include "qmath/kernels/dispatch.hpp"
#include "qmath/quant.hpp"

namespace qmath::kernels::dispatch {

template <class Arch>
struct tier_kernels {
  template <class F>
  static void quantize(std::span<const float> in, std::span<std::byte> out) {
    block_kernel<F>::template quantize<Arch>(in, out);
  }
  template <class F>
  static void dequantize(std::span<const std::byte> in, std::span<float> out) {
    block_kernel<F>::template dequantize<Arch>(in, out);
  }
  template <class T>
  static void from_float(const float* in, void* out, std::size_t n, fp8_overflow mode) {
    fp_detail::from_float<T, Arch>(in, static_cast<T*>(out), n, mode);
  }
  template <class T>
  static void to_float(const void* in, float* out, std::size_t n) {
    fp_detail::to_float<T, Arch>(static_cast<const T*>(in), out, n);
  }
};

template <class Arch, class... F, class... T>
constexpr table make_table(isa tier, type_list<F...>, type_list<T...>) {
  return table{tier,
               {&tier_kernels<Arch>::template quantize<F>...},
               {&tier_kernels<Arch>::template dequantize<F>...},
               {&tier_kernels<Arch>::template from_float<T>...},
               {&tier_kernels<Arch>::template to_float<T>...}};
}

template <class Arch>
constexpr table make_table(isa tier) {
  return make_table<Arch>(tier, dispatched_formats{}, fp_types{});
}

}  // namespace qmath::kernels::dispatch
