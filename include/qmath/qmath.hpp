#pragma once
// Everything qmath has: formats and kernels (quant.hpp), the memory
// estimators and plans (memory.hpp), the model catalog (models.hpp), the
// device table (devices.hpp) and the file readers (io.hpp).

#include "qmath/version.hpp"
#include "qmath/quant.hpp"
#include "qmath/models.hpp"
#include "qmath/devices.hpp"
#include "qmath/memory.hpp"
#include "qmath/io.hpp"
