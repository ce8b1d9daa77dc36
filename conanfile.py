"""Conan 2 recipe for qmath, a header-only C++20 library.

    conan create . -s compiler.cppstd=20 --build=missing

The version is read from include/qmath/version.hpp (one source). Consumers get
qmath::qmath through CMakeDeps (find_package(qmath CONFIG)) and qmath.pc
through PkgConfigDeps; xsimd comes along as a transitive header dependency.
"""
import os
import re

from conan import ConanFile
from conan.tools.build import check_min_cppstd
from conan.tools.files import copy, load
from conan.tools.layout import basic_layout

required_conan_version = ">=2.0"


class QmathConan(ConanFile):
    name = "qmath"
    description = "Header-only C++20 toolkit for LLM quantization formats and memory math"
    license = "MIT"
    url = "https://github.com/qmath/qmath"
    homepage = "https://github.com/qmath/qmath"
    topics = ("quantization", "llm", "gguf", "simd", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    options = {"disable_simd": [True, False]}
    default_options = {"disable_simd": False}
    exports_sources = "include/*", "LICENSE*"
    no_copy_source = True

    def set_version(self):
        text = load(self, os.path.join(self.recipe_folder, "include", "qmath", "version.hpp"))
        parts = [re.search(r"#define QMATH_VERSION_%s ([0-9]+)" % part, text) for part in ("MAJOR", "MINOR", "PATCH")]
        if not all(parts):
            raise ValueError("include/qmath/version.hpp lacks QMATH_VERSION_MAJOR/MINOR/PATCH")
        self.version = ".".join(match.group(1) for match in parts)

    def layout(self):
        basic_layout(self, src_folder=".")

    def requirements(self):
        # Debian's 8.1 and conancenter's 13.x both work (see kernels/xsimd_compat.hpp).
        self.requires("xsimd/[>=8.1 <14]", transitive_headers=True)

    def package_id(self):
        self.info.clear()

    def validate(self):
        if self.settings.get_safe("compiler.cppstd"):
            check_min_cppstd(self, 20)

    def package(self):
        copy(self, "LICENSE*", self.source_folder, os.path.join(self.package_folder, "licenses"))
        copy(self, "*.hpp", os.path.join(self.source_folder, "include"), os.path.join(self.package_folder, "include"))

    def package_info(self):
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        self.cpp_info.set_property("cmake_file_name", "qmath")
        self.cpp_info.set_property("cmake_target_name", "qmath::qmath")
        self.cpp_info.set_property("pkg_config_name", "qmath")
        if self.options.disable_simd:
            self.cpp_info.defines = ["QMATH_DISABLE_SIMD=1"]
