#pragma once
// Hardware profiles: the device record and the catalog of profiles.
// This header does not include xsimd.

#include "qmath/devices/catalog.hpp"
#include "qmath/devices/device.hpp"
