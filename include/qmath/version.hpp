#pragma once
// qmath's version. CMakeLists.txt, meson.build and conanfile.py read these three lines.

#define QMATH_VERSION_MAJOR 0
#define QMATH_VERSION_MINOR 1
#define QMATH_VERSION_PATCH 0

#define QMATH_VERSION (QMATH_VERSION_MAJOR * 10000 + QMATH_VERSION_MINOR * 100 + QMATH_VERSION_PATCH)

namespace qmath {
inline constexpr int version_major = QMATH_VERSION_MAJOR;
inline constexpr int version_minor = QMATH_VERSION_MINOR;
inline constexpr int version_patch = QMATH_VERSION_PATCH;
}  // namespace qmath
