"""xsimd for Conan, taken from the system's headers (Debian's libxsimd-dev).

qmath's CI cannot reach conancenter, so `conan create` of qmath gets its
xsimd requirement from this recipe, created in a throwaway CONAN_HOME first:

    conan create tests/consumers/conan/xsimd-system

The package copies the headers (so it does not put all of /usr/include on the
include path) and takes its version from them. QMATH_SYSTEM_XSIMD_INCLUDE
points elsewhere than /usr/include. With conancenter reachable, this recipe
is not needed: qmath requires xsimd/[>=8.1 <14].
"""
import os
import re

from conan import ConanFile
from conan.errors import ConanInvalidConfiguration
from conan.tools.files import copy, load


def _system_include():
    return os.environ.get("QMATH_SYSTEM_XSIMD_INCLUDE", "/usr/include")


class XsimdSystemConan(ConanFile):
    name = "xsimd"
    description = "xsimd headers from the system, repackaged for an offline Conan cache"
    license = "BSD-3-Clause"
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    no_copy_source = True

    def set_version(self):
        config = os.path.join(_system_include(), "xsimd", "config", "xsimd_config.hpp")
        if not os.path.isfile(config):
            raise ConanInvalidConfiguration(f"no xsimd headers at {config} (install libxsimd-dev)")
        text = load(self, config)
        self.version = ".".join(
            re.search(r"#define XSIMD_VERSION_%s ([0-9]+)" % part, text).group(1)
            for part in ("MAJOR", "MINOR", "PATCH"))

    def package_id(self):
        self.info.clear()

    def package(self):
        copy(self, "*", os.path.join(_system_include(), "xsimd"), os.path.join(self.package_folder, "include", "xsimd"))
        copy(self, "copyright", "/usr/share/doc/libxsimd-dev", os.path.join(self.package_folder, "licenses"))

    def package_info(self):
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        self.cpp_info.set_property("cmake_file_name", "xsimd")
        self.cpp_info.set_property("cmake_target_name", "xsimd")
        self.cpp_info.set_property("pkg_config_name", "xsimd")
