"""Build and load the fused C++ kernel (``_kernel.cpp``) on first use; cache it per user.

The kernel is plain C ABI (no torch headers), compiled with the system C++ compiler in about two seconds and
called through :mod:`ctypes` with raw tensor pointers. The shared object is cached under
``$SNN_SUBSTRATE_CACHE`` or the user cache dir (``~/.cache/snn_substrate``), keyed by a hash of the source
and flags; concurrent first uses race benignly (atomic rename). Any failure (no compiler, no OpenMP, a
load error) makes :func:`load_kernel` return ``None`` and the engine falls back to the pure-torch backend.
No ``-march=native``: a cache dir shared between machines must not produce illegal-instruction crashes.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import platformdirs

_SOURCE = Path(__file__).with_name("_kernel.cpp")
_FLAGS = [
    "-O3",
    "-fopenmp",
    "-shared",
    "-fPIC",
    "-std=c++17",
    "-fno-math-errno",
    "-fno-trapping-math",
    "-ffp-contract=off",
]
_ABI = 5
_cache: dict[str, ctypes.CDLL | None] = {}


def cache_dir() -> Path:
    """Where compiled kernels live (``$SNN_SUBSTRATE_CACHE`` or the per-user cache directory)."""
    env = os.environ.get("SNN_SUBSTRATE_CACHE")
    return Path(env) if env else Path(platformdirs.user_cache_dir("snn_substrate", appauthor=False))


def _compiler() -> str | None:
    for name in (os.environ.get("CXX", ""), "g++", "c++", "clang++"):
        if name and shutil.which(name):
            return name
    return None


def _build(target: Path) -> None:
    cxx = _compiler()
    if cxx is None:
        raise RuntimeError("no C++ compiler found (set CXX)")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        cmd = [cxx, *_FLAGS, str(_SOURCE), "-o", tmp]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if res.returncode != 0:
            raise RuntimeError(f"compiling the kernel failed: {res.stderr.strip()[:500]}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_kernel() -> ctypes.CDLL | None:
    """The compiled kernel library, building it if needed; ``None`` when unavailable (a warning says why).

    Set ``SNN_SUBSTRATE_BACKEND=torch`` to skip the native kernel entirely.
    """
    key = "kernel"
    if key in _cache:
        return _cache[key]
    lib: ctypes.CDLL | None = None
    if os.environ.get("SNN_SUBSTRATE_BACKEND", "auto") != "torch":
        digest = hashlib.sha256(_SOURCE.read_bytes() + " ".join(_FLAGS).encode()).hexdigest()[:16]
        target = cache_dir() / f"snn_kernel_{digest}.so"
        try:
            if not target.exists():
                _build(target)
            lib = ctypes.CDLL(str(target))
            if lib.snn_abi_version() != _ABI:
                raise RuntimeError("kernel ABI mismatch")
            _declare(lib)
        except Exception as exc:  # any failure: fall back to torch, loudly
            warnings.warn(
                f"snn_substrate: native kernel unavailable ({exc}); using the torch backend",
                RuntimeWarning,
                stacklevel=2,
            )
            lib = None
    _cache[key] = lib
    return lib


def _declare(lib: ctypes.CDLL) -> None:
    p = ctypes.c_void_p
    i64 = ctypes.c_int64
    lib.snn_reward.restype = None
    lib.snn_reward.argtypes = [i64, p, p, p, p, ctypes.c_double, ctypes.c_double, ctypes.c_int]
    lib.snn_run.restype = i64
    lib.snn_run.argtypes = [
        i64,
        p,
        p,
        p,
        p,
        p,
        p,
        p,
        p,
        p,  # N, v, ge, gi, theta, refrac, xpre, xpost, drive, is_exc
        p,
        p,
        p,
        p,  # row_ptr, col, w, n_plastic
        p,
        p,
        p,
        p,  # rev_ptr, rev_syn, rev_pre, elig
        p,
        i64,
        i64,
        p,  # params, step0, n_steps, counts
        p,
        i64,
        p,
        ctypes.c_int,  # rec, rec_cap, out, nthreads
    ]
