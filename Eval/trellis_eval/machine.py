"""What the report records about the machine, the toolchain and the checkout."""

import ctypes
import os
import platform
import subprocess
import sys

from .layout import ROOT

_CORENAME = ("import ctypes; b = ctypes.CDLL('libopenblas.so.0'); "
             "b.openblas_get_corename.restype = ctypes.c_char_p; "
             "print(b.openblas_get_corename().decode())")


def _cpu_info():
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            fields = {}
            for line in f:
                if ":" in line:
                    key, _, value = line.partition(":")
                    fields.setdefault(key.strip(), value.strip())
        info["cpu_model"] = fields.get("model name")
        info["cpu_family_model"] = f"family {fields.get('cpu family')} model {fields.get('model')}"
        flags = fields.get("flags", "").split()
        info["cpu_simd"] = " ".join(f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f")
                                    if f in flags)
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        info["memory_gib"] = round(kb / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return info


def _openblas_info():
    info = {}
    try:
        blas = ctypes.CDLL("libopenblas.so.0")
        blas.openblas_get_corename.restype = ctypes.c_char_p
        blas.openblas_get_config.restype = ctypes.c_char_p
        info["openblas_core"] = blas.openblas_get_corename().decode()
        info["openblas_config"] = blas.openblas_get_config().decode()
        if os.environ.get("OPENBLAS_CORETYPE"):
            info["openblas_coretype_env"] = os.environ["OPENBLAS_CORETYPE"]
            # What OpenBLAS picks by itself on this CPU, for comparison.
            env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
            native = subprocess.run([sys.executable, "-c", _CORENAME], env=env,
                                    capture_output=True, text=True, timeout=60)
            info["openblas_core_native"] = native.stdout.strip() or "unknown"
    except (OSError, AttributeError):
        info["openblas_core"] = "unknown (libopenblas.so.0 not loadable)"
    return info


def machine_info():
    info = {"nproc": len(os.sched_getaffinity(0)), "cpu_count": os.cpu_count()}
    info.update(_cpu_info())
    info.update(_openblas_info())
    info["os"] = platform.platform()
    info["python"] = platform.python_version()
    try:
        swift = subprocess.run(["swift", "--version"], capture_output=True, text=True, timeout=60)
        info["swift"] = (swift.stdout or swift.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        pass
    return info


def git_info():
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return ""
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD").strip(),
            "branch": git("rev-parse", "--abbrev-ref", "HEAD").strip(),
            "modified_files": [line[3:] for line in status.splitlines() if len(line) > 3]}
