#pragma once
// How much a format loses: error metrics (RMSE, relative RMSE, max absolute
// error, SQNR), round trips through qmath's kernels for every format it packs,
// fixed-seed sample data, and the expected error of a format or of a model's
// weight recipe on the standard samples. Needs xsimd (the kernels); the
// metrics and the samples alone do not (qmath/quality/metrics.hpp, samples.hpp).

#include "qmath/quality/metrics.hpp"
#include "qmath/quality/samples.hpp"
#include "qmath/quality/round_trip.hpp"
#include "qmath/quality/expected.hpp"
