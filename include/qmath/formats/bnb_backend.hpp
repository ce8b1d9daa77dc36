#pragma once
// Which of bitsandbytes' quantizers qmath reproduces byte for byte. Checkpoints
// hold the bytes of both: a model loaded with load_in_4bit / load_in_8bit on a
// GPU is quantized by the CUDA kernels (and saved that way: the pre-quantized
// checkpoints people download), one quantized on a CPU by bitsandbytes >= 0.46
// by its CPU backend. formats/bnb_4bit.hpp, bnb_blockwise.hpp and bnb_int8.hpp
// say what differs.

#include <cstdint>

namespace qmath {

enum class bnb_backend : std::uint8_t {
  cuda,  // csrc/kernels.cu, csrc/cuda/*.cu (built with --use_fast_math): the default
  cpu,   // backends/default/ops.py and csrc/cpu_ops.cpp as bitsandbytes 0.50 runs them on a CPU
};

}  // namespace qmath
