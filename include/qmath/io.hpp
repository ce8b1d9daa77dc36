#pragma once
// Readers of model files: GGUF (io/gguf.hpp). The Hugging Face config.json
// reader is the optional header qmath/io/hf_config.hpp, which needs
// nlohmann_json; include it yourself. This header does not include xsimd.

#include "qmath/io/gguf.hpp"
