"""Shared fixtures: the qmath_tool bridge and helpers to run it on numpy arrays."""
import json
import os
import shlex
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest


class QmathTool:
    def __init__(self, path: str, emulator: str = ""):
        self.path = path
        # A cross-compiled tool runs under its emulator (qemu-aarch64 -L SYSROOT),
        # as ctest runs the cross-compiled test programs.
        self.command = shlex.split(emulator) + [path]

    def formats(self) -> list[str]:
        out = subprocess.run([*self.command, "list"], check=True, capture_output=True, text=True)
        return out.stdout.split()

    def quantize(self, fmt: str, values: np.ndarray) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp, "in.f32"), Path(tmp, "out.bin")
            np.ascontiguousarray(values, dtype=np.float32).tofile(src)
            subprocess.run([*self.command, "quantize", fmt, str(src), str(dst)], check=True)
            return dst.read_bytes()

    def dequantize(self, fmt: str, data: bytes, n: int) -> np.ndarray:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp, "in.bin"), Path(tmp, "out.f32")
            src.write_bytes(data)
            subprocess.run([*self.command, "dequantize", fmt, str(src), str(n), str(dst)], check=True)
            return np.fromfile(dst, dtype=np.float32)


@pytest.fixture(scope="session")
def tool() -> QmathTool:
    path = os.environ.get("QMATH_TOOL")
    if not path:
        pytest.skip("QMATH_TOOL is not set (run through ctest)")
    return QmathTool(path, os.environ.get("QMATH_TOOL_EMULATOR", ""))


@pytest.fixture(scope="module")
def model_info():
    """Runs qmath_model_info on a file: (exit code, its JSON or its error line)."""
    path = os.environ.get("QMATH_MODEL_INFO")
    if not path:
        pytest.skip("QMATH_MODEL_INFO is not set (run through ctest -R readers_python)")

    def run(file):
        out = subprocess.run([path, str(file)], capture_output=True, text=True)
        return out.returncode, (json.loads(out.stdout) if out.returncode == 0 else out.stderr.strip())

    return run
