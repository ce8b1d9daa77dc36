#pragma once
// Readers of model files: GGUF (io/gguf.hpp) and a GGUF file as a model
// (io/gguf_model.hpp). qmath/io/model_file.hpp (load_model: config.json,
// GGUF, safetensors) and qmath/io/hf_config.hpp read JSON through
// nlohmann_json, which the rest of qmath does not need; include them
// yourself. This header does not include xsimd.

#include "qmath/io/gguf.hpp"
#include "qmath/io/gguf_model.hpp"
#include "qmath/io/stored_tensor.hpp"
