// expect: precondition_failed.*unknown device id
// A device id that is not in the catalog is a compile error in a constant expression.
#include "qmath/devices.hpp"

constexpr const qmath::device& profile = qmath::devices::get("rtx_3060_16gb");

int main() { return static_cast<int>(profile.count); }
