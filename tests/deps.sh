# Installs what qmath's build, tests and benchmarks need on Debian or Ubuntu,
# skipping what is already there. Sourced by examples/quickstart.sh and
# tests/run.sh; safe to run again.

qmath_sudo() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# qmath_install_packages PACKAGE...: apt-get install the ones not installed yet.
qmath_install_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "qmath: installing ${missing[*]}"
    qmath_sudo apt-get update -qq
    qmath_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# What the headers, the examples and the quick start need.
qmath_install_build_deps() {
  qmath_install_packages g++ cmake ninja-build pkg-config libxsimd-dev xtl-dev
}

# Everything the test suite uses: Catch2, Google Benchmark, nlohmann_json,
# meson, and a Python with venv for the cross-checks against independent
# implementations (gguf, numpy, ml_dtypes) and the Conan consumer.
qmath_install_test_deps() {
  qmath_install_build_deps
  qmath_install_packages catch2 libbenchmark-dev nlohmann-json3-dev meson python3 python3-venv
}

# qmath_python_env DIR: a virtual environment with the Python test packages;
# prints the path of its python.
qmath_python_env() {
  local dir="$1"
  if [ ! -x "$dir/bin/python" ]; then
    python3 -m venv "$dir" >&2
  fi
  if ! "$dir/bin/python" -c "import gguf, numpy, ml_dtypes, pytest, conans" 2>/dev/null; then
    "$dir/bin/python" -m pip install -q --disable-pip-version-check \
      "gguf>=0.10" "numpy>=1.24" "ml_dtypes>=0.3" "pytest>=7" "conan>=2.0" >&2
  fi
  echo "$dir/bin/python"
}
