#!/usr/bin/env bash
# Fetches the real llama.cpp that qmath's tests and benches compare against,
# from the npm registry, into a cache folder, and prints that folder:
#   DIR/lib   prebuilt libllama.so, libggml-base.so and one libggml-cpu-*.so
#             per x86-64 level (npm @node-llama-cpp/linux-x64)
#   DIR/src   the matching llama.cpp source (npm node-llama-cpp's
#             llama/gitRelease.bundle): headers to build against, code to read
#   DIR/VERSION  the llama.cpp release the binaries were built from
# Usage: fetch_llama_cpp.sh [CACHE_DIR]   (default: build/peers/llama.cpp)
# Exits 3 with one line on stderr when npm or the registry is not reachable,
# so callers can skip and say why. Safe to run again: a complete cache is reused.
set -euo pipefail
version="${QMATH_NODE_LLAMA_CPP_VERSION:-3.22.1}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${1:-$root/build/peers/llama.cpp}"
if [ -f "$dir/.complete-$version" ]; then echo "$dir"; exit 0; fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "fetch_llama_cpp: the prebuilt llama.cpp is for Linux x86-64 only (this is $(uname -s)-$(uname -m))" >&2
  exit 3
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "fetch_llama_cpp: npm is not installed (apt-get install npm)" >&2
  exit 3
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && npm install --no-save --ignore-scripts --no-audit --no-fund --loglevel=error \
        "@node-llama-cpp/linux-x64@$version" >/dev/null 2>"$tmp/npm.log" \
      && npm pack --silent "node-llama-cpp@$version" >/dev/null 2>>"$tmp/npm.log"); then
  echo "fetch_llama_cpp: npm could not fetch node-llama-cpp $version: $(tail -n 1 "$tmp/npm.log")" >&2
  exit 3
fi
rm -rf "$dir"
mkdir -p "$dir"
cp -a "$tmp/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64" "$dir/lib"
# Plain names next to the versioned ones, so a program can link -lllama -lggml.
for versioned in "$dir"/lib/lib*.v*.so; do
  [ -e "$versioned" ] || continue
  plain="$(basename "$versioned" | sed -E 's/\.v[0-9.]+\.so$/.so/')"
  [ -e "$dir/lib/$plain" ] || ln -s "$(basename "$versioned")" "$dir/lib/$plain"
done
tar -xzf "$tmp/node-llama-cpp-$version.tgz" -C "$tmp" package/llama/gitRelease.bundle package/llama/binariesGithubRelease.json
git clone -q "$tmp/package/llama/gitRelease.bundle" "$dir/src" 2>/dev/null
sed -nE 's/.*"release": *"([^"]+)".*/\1/p' "$tmp/package/llama/binariesGithubRelease.json" >"$dir/VERSION"
touch "$dir/.complete-$version"
echo "$dir"
