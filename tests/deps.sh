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

# What CI's other variants need besides the test deps, for the variants named
# in "$@": clang 19 with its sanitizer and libFuzzer runtimes and lld (clang,
# clang-libc++, fuzz), libc++ (clang-libc++), the AArch64 cross compiler and
# qemu-user to run its programs (aarch64).
qmath_install_ci_deps() {
  qmath_install_test_deps
  local extra=() v
  for v in "$@"; do
    case "$v" in
      clang | fuzz) extra+=(clang-19 libclang-rt-19-dev lld-19) ;;
      clang-libc++) extra+=(clang-19 libclang-rt-19-dev lld-19 libc++-19-dev libc++abi-19-dev) ;;
      aarch64) extra+=(g++-aarch64-linux-gnu qemu-user) ;;
    esac
  done
  [ "${#extra[@]}" -eq 0 ] || qmath_install_packages $(printf '%s\n' "${extra[@]}" | sort -u)
}

# The Debian mirror of this machine's apt sources (deb822 or one-line format).
qmath_debian_mirror() {
  local uri=""
  if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
    uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; ++i) if ($i !~ /security/) { print $i; exit } }' \
            /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; ++i) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
            /etc/apt/sources.list | head -n 1)
  fi
  echo "$uri"
}

# qmath_xsimd_prefix VERSION SUITE DIR: Debian's libxsimd-dev VERSION (a
# pinned copy, e.g. 13.2.0-1 of trixie) unpacked into DIR, not installed, with
# apt's own client on a private state directory and the mirror of this
# machine's sources. Prints the prefix (DIR/usr, with share/cmake/xsimd).
# When SUITE no longer has VERSION, the suite's own version of the same major
# is taken (and said). Cached: once unpacked, nothing is fetched again.
# Returns 3 with one line on stderr when the mirror cannot be reached.
qmath_xsimd_prefix() {
  local version="$1" suite="$2" dir="$3"
  if [ -f "$dir/usr/include/xsimd/xsimd.hpp" ]; then echo "$dir/usr"; return 0; fi
  local mirror; mirror="$(qmath_debian_mirror)"
  if [ -z "$mirror" ]; then echo "qmath: no Debian mirror in the apt sources" >&2; return 3; fi
  local apt="$dir.apt"
  mkdir -p "$apt/state/lists/partial" "$apt/cache/archives/partial" "$apt/sources" "$apt/debs"
  printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" "$suite" >"$apt/sources/xsimd.sources"
  local opts=(-q -o "Dir::State=$apt/state" -o "Dir::Cache=$apt/cache" -o Dir::Etc::SourceList=/dev/null
              -o "Dir::Etc::SourceParts=$apt/sources" -o Dir::Etc::Preferences=/dev/null
              -o Dir::Etc::PreferencesParts=/dev/null -o APT::Sandbox::User=root
              -o Acquire::Languages=none -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
              -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false
              -o Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false)
  if ! apt-get "${opts[@]}" update >"$apt/update.log" 2>&1; then
    echo "qmath: cannot read Debian $suite from $mirror ($(tail -n 1 "$apt/update.log"))" >&2; return 3
  fi
  local want="$version"
  if ! apt-cache "${opts[@]}" show "libxsimd-dev=$want" >/dev/null 2>&1; then
    want=$(apt-cache "${opts[@]}" policy libxsimd-dev | awk -v major="${version%%.*}" \
             '$1 ~ "^"major"\\." { print $1; exit } $2 ~ "^"major"\\." { print $2; exit }')
    if [ -z "$want" ]; then echo "qmath: Debian $suite has no libxsimd-dev ${version%%.*}.x" >&2; return 3; fi
    echo "qmath: Debian $suite has libxsimd-dev $want, not the pinned $version; using $want" >&2
  fi
  if ! (cd "$apt/debs" && apt-get "${opts[@]}" download "libxsimd-dev=$want" >"$apt/download.log" 2>&1); then
    echo "qmath: cannot download libxsimd-dev $want ($(tail -n 1 "$apt/download.log"))" >&2; return 3
  fi
  dpkg-deb -x "$apt/debs"/libxsimd-dev_*.deb "$dir" || return 3
  rm -rf "$apt/state" "$apt/cache"
  echo "$dir/usr"
}
