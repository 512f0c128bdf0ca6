"""numba's decorators as the engine uses them, and the two machine operations that numba lacks.

With `NUMBA_DISABLE_JIT=1` every decorated function stays plain Python: `prefetch` is then a
no-op and the bit casts go through numpy, so the whole model can be stepped in a debugger.
"""

from __future__ import annotations

import os
from pathlib import Path

import numba
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import caching, cgutils
from numba.extending import intrinsic, overload

#: Plain Python instead of machine code (numba's NUMBA_DISABLE_JIT): for debugging and coverage.
INTERPRETED = bool(numba.config.DISABLE_JIT)
if INTERPRETED:  # uint64 arithmetic of the random generator wraps around on purpose
    np.seterr(over="ignore")

class _EngineCacheLocator(caching._CacheLocator):
    """Where numba keeps the engine's compiled kernels: by the digest of the engine's sources, not by path and time.

    numba's own locators key a cache by the source file's path and modification
    time, so every fresh clone (CI's included) compiled again, and an edit of a
    rule in another file went unseen. Here the folder (numba's CACHE_DIR, set by
    `simulation.engine` to `<folder>/<digest of the engine's sources>`) and the
    stamp are the digest: any clone of the same sources reuses the compile, any
    edit of them compiles anew. numba's cache layout is not public API: if this
    class stops fitting it, numba falls back to its own locators.
    """

    _engine = Path(__file__).resolve().parent

    def __init__(self, py_func, py_file):
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = os.path.join(numba.config.CACHE_DIR, Path(py_file).stem)

    def get_cache_path(self):
        return self._cache_path

    def get_source_stamp(self):
        return Path(numba.config.CACHE_DIR).name  # the digest

    def get_disambiguator(self):
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func, py_file):
        if not numba.config.CACHE_DIR or not py_file or Path(py_file).resolve().parent != cls._engine:
            return None
        locator = cls(py_func, py_file)
        try:
            locator.ensure_cache_path()
        except OSError:
            return None
        return locator


caching.CacheImpl._locator_classes.insert(0, _EngineCacheLocator)

#: Fast-math without the promises of no infinities or NaNs (a closed sink's utility is -inf).
FAST = {"nsz", "arcp", "contract", "afn", "reassoc"}

#: A rule or a helper: inlined into the kernel that calls it, so that the kernel's loop stays vector code.
scalar = njit(cache=True, inline="always", error_model="numpy", fastmath=FAST)
#: A day's phase: a parallel loop over chunks of users.
kernel = njit(cache=True, nogil=True, parallel=True, error_model="numpy", fastmath=FAST)
#: A serial helper that is too large to inline, in exact IEEE arithmetic (no fast-math).
serial = njit(cache=True, nogil=True, error_model="numpy")


def prefetch(array: np.ndarray, index: int) -> None:
    """Ask the memory for the cache line of array[index] (a 1-d array) without waiting for it."""


def float32_from_bits(bits: np.int32) -> np.float32:
    """The float32 whose bits are `bits`."""
    return np.int32(bits).view(np.float32)


def bits_of_float32(value: np.float32) -> np.int32:
    """The bits of a float32, as an int32."""
    return np.float32(value).view(np.int32)


def float64_from_bits(bits: np.int64) -> np.float64:
    """The float64 whose bits are `bits`."""
    return np.int64(bits).view(np.float64)


@intrinsic
def _prefetch(typingctx, array, index):
    signature = types.void(array, index)

    def codegen(context, builder, sig, args):
        view = context.make_array(sig.args[0])(context, builder, args[0])
        address = cgutils.get_item_pointer(context, builder, sig.args[0], view, [args[1]])
        byte_pointer = ir.IntType(8).as_pointer()
        address = builder.bitcast(address, byte_pointer)
        name = "llvm.prefetch." + byte_pointer.intrinsic_name  # p0 (opaque pointers) or p0i8 (older LLVMs)
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]), name)
        # a read (0), to keep in every cache level (3), of data (1)
        builder.call(fn, [address, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return signature, codegen


def _bitcast(source, target):
    """An intrinsic that reinterprets the bits of a `source` scalar as a `target` scalar."""
    @intrinsic
    def cast(typingctx, value):
        def codegen(context, builder, sig, args):
            return builder.bitcast(args[0], context.get_value_type(target))
        return target(source), codegen
    return cast


_f32_from_i32 = _bitcast(types.int32, types.float32)
_i32_from_f32 = _bitcast(types.float32, types.int32)
_f64_from_i64 = _bitcast(types.int64, types.float64)


@overload(prefetch, inline="always")
def _prefetch_jit(array, index):
    return lambda array, index: _prefetch(array, index)


@overload(float32_from_bits, inline="always")
def _float32_from_bits_jit(bits):
    return lambda bits: _f32_from_i32(np.int32(bits))


@overload(bits_of_float32, inline="always")
def _bits_of_float32_jit(value):
    return lambda value: _i32_from_f32(np.float32(value))


@overload(float64_from_bits, inline="always")
def _float64_from_bits_jit(bits):
    return lambda bits: _f64_from_i64(np.int64(bits))
