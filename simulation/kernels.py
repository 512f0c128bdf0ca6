"""Compiled kernels of the day (numba): one pass over users per phase, on every core.

Users are cut into chunks (`chunk_size`: 16,384 users, fewer in small populations) and the chunks are shared
among threads (`prange`). Every random number is a pure function of the run's
key, the day, a stream number and the user (a counter-based generator: the
splitmix64 mix of a counter), and every sum over users is made of per-chunk
partial sums added in chunk order. So a run gives the same results whatever
the number of threads, and it does not depend on the order users are visited.

The arithmetic is that of the numpy path in `simulation.model`; only the random
numbers differ (that path draws from the model's numpy generator), so the two
agree in distribution, not draw for draw.

Inside a chunk, users are taken in blocks of `BLOCK`, and the inner loops
run along a block so that the compiler makes them vector code. What keeps a
loop vector code here (LLVM's loop vectoriser, seen in its remarks): unsigned
indices (numba wraps a negative signed index around, and that stops it), no
branches and no calls (selects and the polynomials below instead of libm),
products rather than selects inside sums, and few arrays per loop (too many
and it gives up on proving they do not overlap).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

try:
    import numba
    from llvmlite import ir
    from numba import njit, prange, types
    from numba.core import cgutils
    from numba.extending import intrinsic
except ImportError:  # pragma: no cover - numba is a dependency; this is the fallback's reason to exist
    numba = None

AVAILABLE = numba is not None

#: Users per chunk (at most): the unit of work of a thread and of partial sums.
CHUNK = 16_384
#: Chunks are halved, down to MIN_CHUNK users, until a population has at least this many (work for every core).
MIN_CHUNKS = 16
MIN_CHUNK = 1024
#: Fixed point of what neighbours hear (see `deliver`): 1.0 is UNIT, a resolution of 1.5e-5.
UNIT = 65535
#: Users per block inside a chunk: a block's sinks x users scratch stays in the first-level cache.
BLOCK = 256
#: How many edges ahead the neighbour walk asks the memory for a neighbour's row (see `_sum_neighbours`).
PREFETCH_AHEAD = 16

# Random streams: one per use, so that no two uses ever share a number.
STREAM_SLOTS = 1
STREAM_IMPRESSIONS = 2
STREAM_PURCHASES = 3
STREAM_ANSWERS = 16  # and up: one stream per brand

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_BITS53 = 1.0 / 9007199254740992.0  # 2**-53: 53 random bits to [0, 1)
_POISSON_DRAWS = np.uint64(64)  # counters reserved per (user, brand) for the Poisson sampler
_INVERSION_STEPS = 1000  # the inversion's last step (at lam < 10, the chance of going further is nil)
_RECIPROCALS = 1.0 / np.maximum(np.arange(_INVERSION_STEPS + 1), 1)  # 1/k: a product is quicker than a division


def compiled_on_disk() -> bool:
    """Whether numba's cache already holds the day's kernels (else the first call compiles them:
    about 50 s on a 2-core machine, once). True when it cannot tell."""
    if not AVAILABLE:
        return True
    try:
        return all(Path(kernel._cache._cache_file._index_path).exists()
                   for kernel in (allocate, deliver, word_of_mouth))
    except (AttributeError, OSError):  # numba's cache layout is not public API
        return True


def chunk_size(n: int) -> int:
    """Users per chunk for a population of n: CHUNK, halved while that makes fewer than MIN_CHUNKS chunks.

    It depends on n alone, never on the number of threads, so results do not
    either; small populations get enough chunks to keep every core busy.
    """
    size = CHUNK
    while size > MIN_CHUNK and (n + size - 1) // size < MIN_CHUNKS:
        size //= 2
    return size


def chunks(n: int) -> int:
    """Number of chunks for n users."""
    size = chunk_size(n)
    return (n + size - 1) // size


def threads() -> int:
    """Threads the kernels use when called from this thread (1 without numba)."""
    return numba.get_num_threads() if AVAILABLE else 1


def set_threads(count: int) -> None:
    """Let the kernels called from this thread use `count` threads (at most numba's pool).

    Results do not depend on it. Worker processes of a sweep set it so that
    their threads together do not outnumber the cores.
    """
    if AVAILABLE:
        numba.set_num_threads(max(1, min(count, numba.config.NUMBA_NUM_THREADS)))


if AVAILABLE:
    _jit = njit(cache=True, nogil=True, error_model="numpy")
    # Fast-math without the promises of no infinities or NaNs (a closed sink's utility is -inf).
    _FAST = {"nsz", "arcp", "contract", "afn", "reassoc"}
    _pjit = njit(cache=True, nogil=True, parallel=True, error_model="numpy", fastmath=_FAST)

    @intrinsic
    def _prefetch(typingctx, array, index):
        """Asks the memory for the cache line of array[index] (a 1-d array) without waiting for it."""
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

    _chunk_size = njit(cache=True, inline="always")(chunk_size)

    @njit(cache=True, inline="always", error_model="numpy")
    def mix64(z):
        """splitmix64's finaliser: a bijection of uint64 that scrambles every bit."""
        z = (z ^ (z >> _S30)) * _M1
        z = (z ^ (z >> _S27)) * _M2
        return z ^ (z >> _S31)

    @njit(cache=True, inline="always", error_model="numpy")
    def _unit(key, counter):
        """U[0, 1) for (key, counter), with 53 random bits."""
        return float(mix64(key + counter * _GAMMA) >> _S11) * _BITS53

    @njit(cache=True, inline="always", error_model="numpy")
    def _unit32(key, counter):
        """U[0, 1) with 24 random bits: exact in float32, whose rounding of a 53-bit draw could give 1.0."""
        return np.float32(mix64(key + counter * _GAMMA) >> np.uint64(40)) * np.float32(1.0 / 16777216.0)

    @_jit
    def stream_key(run_key, day, stream):
        """The key of one stream on one day."""
        return mix64(mix64(np.uint64(run_key) + np.uint64(day) * _GAMMA) + np.uint64(stream) * _M1)

    @_jit
    def uniforms(key, start, count):
        """`count` consecutive uniforms of a stream (for tests of the generator)."""
        out = np.empty(count)
        for i in range(count):
            out[i] = _unit(key, np.uint64(start + i))
        return out

    @njit(cache=True, error_model="numpy")
    def _poisson_from_10(lam, key, counter):
        """A Poisson(lam) draw for lam >= 10: Hörmann's transformed rejection with squeeze (PTRS), as numpy's.

        Uses the uniforms at counter, counter + 1, ... (two per attempt).
        """
        slam = math.sqrt(lam)
        loglam = math.log(lam)
        b = 0.931 + 2.53 * slam
        a = -0.059 + 0.02483 * b
        invalpha = 1.1239 + 1.1328 / (b - 3.4)
        vr = 0.9277 - 3.6224 / (b - 2.0)
        for attempt in range(31):
            u = _unit(key, counter + np.uint64(2 * attempt)) - 0.5
            v = _unit(key, counter + np.uint64(2 * attempt + 1))
            us = 0.5 - abs(u)
            k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
            if us >= 0.07 and v <= vr:
                return int(k)
            if k < 0 or (us < 0.013 and v > us):
                continue
            if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)) <= (-lam + k * loglam - math.lgamma(k + 1.0)):
                return int(k)
        return int(math.floor(lam + 0.5))  # 31 rejections in a row: probability below 1e-30

    @njit(cache=True, inline="always", error_model="numpy")
    def _poisson_counter(user, brands, b):
        """The first of the 64 counters of the Poisson draw of (user, brand b of `brands`)."""
        return (np.uint64(user) * brands + b) * _POISSON_DRAWS

    @njit(cache=True, inline="always", error_model="numpy", fastmath=_FAST)
    def _draw_poissons(lam, size, key, first, brands, b, shown, probability, cumulative, u, bits):
        """shown[k] ~ Poisson(lam[k]) for k < size, for user first + k and brand b of `brands`.

        Each draw uses its own counters, (user x brands + brand) x 64 onward.
        Below a mean of 10, by inversion: the draw is the number of terms of
        the cumulative distribution below its uniform. All users of the block
        step through the terms together, as vector code, until every one has
        passed its uniform. From a mean of 10 on, by `_poisson_from_10`.
        probability, cumulative, u and bits are scratch space.
        """
        for k in range(size):
            probability[k] = -min(max(lam[k], 0.0), 10.0)
        _exp_negative(probability, size, bits)  # P(0) = e^-lam
        for k in range(np.uint64(size)):
            inverted = lam[k] > 0.0 and lam[k] < 10.0
            u[k] = _unit(key, _poisson_counter(np.uint64(first) + k, brands, b)) if inverted else 0.0  # 0: no cumulative sum is below it, the draw stays 0
            cumulative[k] = probability[k]
            shown[k] = 0.0
        for term in range(1, _INVERSION_STEPS + 1):
            below = 0
            for k in range(size):
                more = u[k] > cumulative[k]
                shown[k] += 1.0 if more else 0.0
                below += 1 if more else 0
                probability[k] *= max(lam[k], 0.0) * _RECIPROCALS[term]  # (a negative mean must not shrink the sum)
                cumulative[k] += probability[k]
            if below == 0:
                break
        for k in range(size):
            if lam[k] >= 10.0:
                shown[k] = _poisson_from_10(lam[k], key, _poisson_counter(first + k, brands, b))

    @_jit
    def poissons(lam, key):
        """Poisson(lam[i]) draws with the counters of user i and a single brand: the sampler of `deliver`, for tests."""
        n = lam.size
        shown = np.empty(n)
        scratch = np.empty((3, BLOCK))
        bits = np.empty(BLOCK, dtype=np.int64)
        for start in range(0, n, BLOCK):
            size = min(BLOCK, n - start)
            _draw_poissons(lam[start:start + size], size, key, start, np.uint64(1), np.uint64(0),
                           shown[start:start + size], scratch[0], scratch[1], scratch[2], bits)
        return shown

    # ------------------------------------------------------------------ graph

    @_pjit
    def column_totals(values):
        """Sums of each column of values (users x k), as per-chunk partial sums added in order."""
        n, k = values.shape
        chunk = _chunk_size(n)
        parts = np.zeros(((n + chunk - 1) // chunk, k))
        for c in prange(parts.shape[0]):
            for i in range(c * chunk, min(n, (c + 1) * chunk)):
                for j in range(k):
                    parts[c, j] += values[i, j]
        total = np.zeros(k)
        for c in range(parts.shape[0]):
            total += parts[c]
        return total

    # ------------------------------------------------------------------ the day's phases

    @njit(cache=True, inline="always", error_model="numpy", fastmath=_FAST)
    def _exp_shifted(row, top, size, power, mantissa):
        """row[k] = exp(row[k] - top[k]) for k < size, in float32, where row[k] <= top[k].

        e^x = 2^n e^f with n the integer nearest x log2(e) (2^n built in the exponent
        bits) and f = x - n ln 2 (Cody and Waite's two-part ln 2), |f| <= 0.35, by
        its Taylor polynomial of degree 7 (truncation 5e-9, below float32's rounding). Written without branches or calls, so that the compiler makes it
        vector code; libm's exp, one call per value, cost a third of the day.
        Exponents below -87 give 0 (e^-87 is under float32's smallest normal).
        """
        for k in range(size):
            x = max(row[k] - top[k], np.float32(-87.0))
            n = np.floor(x * np.float32(1.4426950408889634) + np.float32(0.5))
            f = (x - n * np.float32(0.693359375)) + n * np.float32(2.12194440e-4)  # x - n ln 2, in two parts
            p = np.float32(1.0 / 5040.0)
            p = p * f + np.float32(1.0 / 720.0)
            p = p * f + np.float32(1.0 / 120.0)
            p = p * f + np.float32(1.0 / 24.0)
            p = p * f + np.float32(1.0 / 6.0)
            p = p * f + np.float32(0.5)
            p = p * f + np.float32(1.0)
            p = p * f + np.float32(1.0)
            mantissa[k] = p
            power[k] = (np.int32(n) + np.int32(127)) << np.int32(23)
        scale = power.view(np.float32)
        for k in range(size):
            row[k] = mantissa[k] * scale[k] if row[k] - top[k] > np.float32(-87.0) else np.float32(0.0)

    @njit(cache=True, inline="always", error_model="numpy", fastmath=_FAST)
    def _log_positive(values, size, scratch):
        """values[k] = ln(values[k]) for k < size, in float32, for positive normal values.

        x = m 2^e with m in [sqrt(1/2), sqrt(2)) read from the bits; ln m = 2 atanh(s),
        s = (m - 1)/(m + 1), |s| <= 0.172, by its series to s^9 (truncation 1e-9). Vector
        code like `_exp_shifted`: libm's log, a call per value, cost as much as the rest.
        """
        bits = values.view(np.int32)
        for k in range(size):
            b = bits[k]
            upper = np.int32(1) if (b & np.int32(0x7FFFFF)) > np.int32(0x3504F3) else np.int32(0)  # m >= sqrt 2
            scratch[k] = ((b >> np.int32(23)) & np.int32(0xFF)) - np.int32(127) + upper
            bits[k] = (b & np.int32(0x7FFFFF)) | (np.int32(0x3F800000) - (upper << np.int32(23)))
        for k in range(size):
            m = values[k]
            s = (m - np.float32(1.0)) / (m + np.float32(1.0))
            s2 = s * s
            p = np.float32(1.0 / 9.0)
            p = p * s2 + np.float32(1.0 / 7.0)
            p = p * s2 + np.float32(1.0 / 5.0)
            p = p * s2 + np.float32(1.0 / 3.0)
            p = p * s2 + np.float32(1.0)
            values[k] = np.float32(scratch[k]) * np.float32(0.6931471805599453) + np.float32(2.0) * s * p

    @njit(cache=True, inline="always", error_model="numpy", fastmath=_FAST)
    def _exp_negative(values, size, bits):
        """values[k] = exp(values[k]) for k < size, in float64, for values[k] <= 0 (exactly 0 from -708 down).

        As `_exp_shifted`, in double precision: Taylor polynomial of degree 12
        on |f| <= 0.35 (truncation 2e-16), 2^n written in the exponent bits.
        Relative error below 1e-15 on [-10, 0], where the Poisson sampler uses
        it, and below 5e-14 down to -708 (tested).
        """
        for k in range(size):
            x = max(values[k], -708.0)
            n = np.floor(x * 1.4426950408889634 + 0.5)
            f = (x - n * 0.6931471803691238) - n * 1.9082149292705877e-10  # x - n ln 2, in two parts
            p = 1.0 / 479001600.0
            p = p * f + 1.0 / 39916800.0
            p = p * f + 1.0 / 3628800.0
            p = p * f + 1.0 / 362880.0
            p = p * f + 1.0 / 40320.0
            p = p * f + 1.0 / 5040.0
            p = p * f + 1.0 / 720.0
            p = p * f + 1.0 / 120.0
            p = p * f + 1.0 / 24.0
            p = p * f + 1.0 / 6.0
            p = p * f + 0.5
            p = p * f + 1.0
            p = p * f + 1.0
            bits[k] = (np.int64(n) + np.int64(1023)) << np.int64(52)
            values[k] = p if values[k] > -708.0 else 0.0
        scale = bits.view(np.float64)
        for k in range(size):
            values[k] *= scale[k]

    @_pjit
    def allocate(slots, taste, kind_of_sink, pull, habit, social, heard_social, social_of_column,
                 destination_columns, trust, awareness, trust_pull, awareness_floor, key, per_slot_share, budget,
                 voices):
        """Today's slots per sink (in place) by multinomial logit and systematic sampling.

        `heard_social` (social sinks x users) holds the mean slots neighbours
        spent on each social sink yesterday, gathered with yesterday's word of
        mouth (see `word_of_mouth`). Users are taken in blocks of `BLOCK`, sink
        by sink, so that every inner loop runs along contiguous memory. Today's
        slots on social sinks also go to the users' rows of `voices` (see `deliver`).
        Returns per-chunk partial sums: minutes per sink and visitors per sink.
        """
        sinks, n = slots.shape
        slots_per_day = np.float32(1.0 / per_slot_share)
        chunk = _chunk_size(n)
        nchunks = (n + chunk - 1) // chunk
        minutes = np.zeros((nchunks, sinks))
        visitors = np.zeros((nchunks, sinks), dtype=np.int64)
        brands = destination_columns.size
        f_pull = pull.astype(np.float32)
        f_social = (social * per_slot_share).astype(np.float32)
        f_habit = np.float32(habit * per_slot_share)
        f_trust_pull = np.float32(trust_pull)
        for c in prange(nchunks):
            utility = np.empty((sinks, BLOCK), dtype=np.float32)
            top = np.empty(BLOCK, dtype=np.float32)
            below = np.empty(BLOCK, dtype=np.float32)
            draw = np.empty(BLOCK, dtype=np.float32)
            power = np.empty(BLOCK, dtype=np.int32)
            mantissa = np.empty(BLOCK, dtype=np.float32)
            chunk_minutes = np.zeros(sinks)
            chunk_visitors = np.zeros(sinks, dtype=np.int64)
            end = min(n, (c + 1) * chunk)
            for start in range(c * chunk, end, BLOCK):
                size = min(BLOCK, end - start)
                first = np.uint64(start)  # unsigned indices: no wrap-around of negative ones, which stops vector code
                for k in range(np.uint64(size)):
                    draw[k] = _unit32(key, first + k)
                for s in range(sinks):
                    row_taste = taste[kind_of_sink[s]]
                    row_slots = slots[s]
                    p = f_pull[s]
                    for k in range(np.uint64(size)):
                        utility[s, k] = row_taste[first + k] + p + f_habit * row_slots[first + k]
                    j = social_of_column[s]
                    if j >= 0:
                        w = f_social[s]
                        row_heard = heard_social[j]
                        for k in range(np.uint64(size)):
                            utility[s, k] += w * row_heard[first + k]
                for b in range(brands):
                    d = destination_columns[b]
                    for k in range(np.uint64(size)):
                        mantissa[k] = awareness[b, first + k] + np.float32(awareness_floor)
                    _log_positive(mantissa, size, power)
                    for k in range(np.uint64(size)):
                        utility[d, k] += f_trust_pull * abs(trust[b, first + k]) + mantissa[k]
                for k in range(np.uint64(size)):
                    top[k] = utility[0, k]
                for s in range(1, sinks):
                    for k in range(np.uint64(size)):
                        top[k] = max(top[k], utility[s, k])
                for s in range(sinks):
                    _exp_shifted(utility[s], top, size, power, mantissa)
                for s in range(1, sinks):
                    for k in range(np.uint64(size)):
                        utility[s, k] += utility[s - 1, k]  # cumulative
                for k in range(np.uint64(size)):
                    below[k] = 0.0
                for s in range(sinks):
                    row_slots = slots[s]
                    spent = 0.0
                    seen = 0
                    for k in range(np.uint64(size)):
                        upto = min(np.floor(utility[s, k] / utility[sinks - 1, k] * slots_per_day + draw[k]), slots_per_day)
                        count = upto - below[k]
                        below[k] = upto
                        row_slots[first + k] = np.uint8(count)
                        spent += count * budget[first + k]
                        seen += count > 0
                    chunk_minutes[s] += spent * per_slot_share
                    chunk_visitors[s] += seen
                    j = social_of_column[s]
                    if j >= 0:
                        column = 4 * brands + j
                        for k in range(np.uint64(size)):
                            voices[first + k, column] = row_slots[first + k]
            minutes[c] = chunk_minutes
            visitors[c] = chunk_visitors
        return minutes, visitors

    @_pjit
    def visitor_keys(slots_row, key):
        """Random keys of the users who visited (slots_row > 0), to choose whom a brand answers."""
        n = slots_row.size
        chunk = _chunk_size(n)
        nchunks = (n + chunk - 1) // chunk
        counts = np.zeros(nchunks + 1, dtype=np.int64)
        for c in prange(nchunks):
            for i in range(c * chunk, min(n, (c + 1) * chunk)):
                if slots_row[i] > 0:
                    counts[c + 1] += 1
        for c in range(nchunks):
            counts[c + 1] += counts[c]
        out = np.empty(counts[nchunks], dtype=np.uint64)
        for c in prange(nchunks):
            k = counts[c]
            for i in range(c * chunk, min(n, (c + 1) * chunk)):
                if slots_row[i] > 0:
                    out[k] = mix64(key + np.uint64(i) * _GAMMA)
                    k += 1
        return out

    @_pjit
    def deliver(slots, budget, per_slot_share, ad_load, rates, destination_columns, novelty,
                savviness, fatigue, awareness, trust, reached, fan, impressions, external,
                ad_effect, click_rate, engagement_minutes, answer_all, answer_below, answer_key,
                answer_gain, fatigue_per_impression, savviness_growth, full_exposure, key,
                adopted, seeded, paid_voice, voices):
        """Impressions (Poisson), their effect and clicks, time at destinations and answers; state updated in place.

        Then what each user will say of each brand goes to the user's row of
        `voices`, in fixed point (UNIT is 1): per brand b, advocacy at 4b,
        speaking at 4b + 1, the positive part of the voiced opinion at 4b + 2
        and its negative part at 4b + 3 (weighted by the negativity bias once
        averaged); `allocate` wrote the slots on social sinks after them. A row
        of 16-bit figures keeps the random reads of neighbours' rows, the
        dearest part of the day, small.

        Users are taken in blocks of `BLOCK`; for each brand, the Poisson draws
        are a loop of their own and the rest is vector code (see `_expose`).
        Returns per-chunk partial sums, brands x 7: impressions, users reached,
        answers, engaged minutes, impressions and clicks to first-time viewers, clicks.
        """
        sinks, n = slots.shape
        brands = destination_columns.size
        chunk = _chunk_size(n)
        nchunks = (n + chunk - 1) // chunk
        sums = np.zeros((nchunks, brands, 7))
        ad_sinks = np.flatnonzero(ad_load > 0)
        for c in prange(nchunks):
            seen = np.empty(BLOCK)
            expected = np.empty((brands, BLOCK))
            scale = np.empty(BLOCK)
            shown = np.empty(BLOCK)
            scratch = np.empty((3, BLOCK))
            bits = np.empty(BLOCK, dtype=np.int64)
            worn = np.empty(BLOCK, dtype=np.float32)
            kept = np.empty(BLOCK, dtype=np.float32)
            unengaged = np.empty(BLOCK, dtype=np.float32)
            zeros = np.zeros(BLOCK, dtype=np.float32)
            power = np.empty(BLOCK, dtype=np.int32)
            mantissa = np.empty(BLOCK, dtype=np.float32)
            said = np.empty((4, BLOCK), dtype=np.uint16)
            total = np.zeros((brands, 7))
            end = min(n, (c + 1) * chunk)
            for start in range(c * chunk, end, BLOCK):
                size = min(BLOCK, end - start)
                first = np.uint64(start)  # unsigned indices: no wrap-around of negative ones, which stops vector code
                for k in range(np.uint64(size)):
                    scale[k] = budget[first + k] * per_slot_share
                    seen[k] = 0.0
                for b in range(brands):
                    for k in range(np.uint64(size)):
                        expected[b, k] = 0.0
                for s in ad_sinks:  # impressions each user could be shown, and each brand's share of them
                    row = slots[s]
                    load = ad_load[s]
                    for k in range(np.uint64(size)):
                        seen[k] += row[first + k] * load
                    for b in range(brands):
                        rate = rates[s, b] * load
                        if rate > 0:
                            for k in range(np.uint64(size)):
                                expected[b, k] += row[first + k] * rate
                for b in range(brands):
                    lam = expected[b]
                    for k in range(np.uint64(size)):
                        lam[k] *= scale[k]
                    _draw_poissons(lam, size, key, start, np.uint64(brands), np.uint64(b), shown, scratch[0], scratch[1],
                                   scratch[2], bits)
                    # worn = (1 - savviness) e^-fatigue; kept = (1 - effect worn)^shown; unengaged = e^(-stay / minutes)
                    stays = slots[destination_columns[b]]
                    for k in range(np.uint64(size)):
                        worn[k] = -fatigue[b, first + k]
                        unengaged[k] = -(stays[first + k] * scale[k]) / engagement_minutes
                    _exp_shifted(worn, zeros, size, power, mantissa)
                    _exp_shifted(unengaged, zeros, size, power, mantissa)
                    effect = np.float32(ad_effect * novelty[b])
                    for k in range(np.uint64(size)):
                        worn[k] *= np.float32(1.0) - savviness[first + k]
                        kept[k] = max(np.float32(1.0) - effect * worn[k], np.float32(1e-30))
                    _log_positive(kept, size, power)
                    for k in range(np.uint64(size)):
                        kept[k] *= np.float32(shown[k])
                    _exp_shifted(kept, zeros, size, power, mantissa)
                    _expose(shown, worn, kept, unengaged, scale, stays, start, size, awareness[b], trust[b],
                            reached[b], fan[b], impressions[b], external[b], adopted[b], seeded[b], click_rate,
                            answer_all[b], answer_below[b], answer_key[b], answer_gain, fatigue[b],
                            fatigue_per_impression, full_exposure, paid_voice, said, total[b])
                    for k in range(np.uint64(size)):
                        for j in range(4):
                            voices[first + k, 4 * b + j] = said[j, k]
                for k in range(np.uint64(size)):
                    i = first + k
                    savviness[i] = min(savviness[i] + savviness_growth * seen[k] * scale[k] * (1.0 - savviness[i]), 1.0)
            sums[c] = total
        return sums

    @njit(cache=True, inline="always", error_model="numpy", fastmath=_FAST)
    def _expose(shown, worn, kept, unengaged, scale, stays, start, size, awareness, trust, reached, fan,
                impressions, external, adopted, seeded, click_rate, answer_all, answer_below, answer_key,
                answer_gain, fatigue, fatigue_per_impression, full_exposure, paid_voice, said, total):
        """One brand, one block of users: what today's impressions and visits do, and what each user will say.

        shown, worn, kept and unengaged are `deliver`'s, for the block. No
        branch and unsigned indices: the loop is vector code. What users say
        goes to said (4 x block, fixed point, see `deliver`); the day's figures
        are added to total (see `deliver`).
        """
        delivered = reached_today = answers = engaged = first_impressions = first_clicks = all_clicks = 0.0
        for k in range(np.uint64(size)):
            i = np.uint64(start) + k
            count = shown[k]
            response = np.float32(1.0) - kept[k]  # 1 - (1 - effect worn)^shown: 0 when nothing was shown
            clicks = count * click_rate * worn[k]
            newcomer = 0.0 if reached[i] else 1.0  # (products, not selects, in sums: they stay vector code)
            delivered += count
            reached_today += min(count, 1.0)
            all_clicks += clicks
            first_impressions += count * newcomer
            first_clicks += clicks * newcomer
            reached[i] = True if count > 0.0 else reached[i]  # (a select: `|` here stops vector code)
            fatigue[i] += count * fatigue_per_impression
            visiting = stays[i] > 0
            stay = stays[i] * scale[k]
            engaged += stay
            pull = np.float32(1.0) - (np.float32(1.0) - response) * unengaged[k] if visiting else response
            fan[i] = True if visiting else fan[i]
            answered = visiting & (answer_all | (mix64(answer_key + i * _GAMMA) <= answer_below))
            answers += 1.0 if answered else 0.0
            t = trust[i] + answer_gain * (1.0 - trust[i]) if answered else trust[i]
            trust[i] = t
            awareness[i] += (1.0 - awareness[i]) * pull
            external[i] = 1.0 if full_exposure else pull
            impressions[i] = count
        total[0] += delivered
        total[1] += reached_today
        total[2] += answers
        total[3] += engaged
        total[4] += first_impressions
        total[5] += first_clicks
        total[6] += all_clicks
        for k in range(np.uint64(size)):  # what each user will say of the brand (a loop of its own: fewer arrays)
            i = np.uint64(start) + k
            t = trust[i]
            speaking = adopted[i] | fan[i] | (t < 0) | seeded[i]
            advocate = max(t, 0.0) if adopted[i] else 0.0
            positive = max(t, 0.0) if speaking else 0.0
            negative = max(-t, 0.0) if speaking else 0.0
            advocate = max(advocate, paid_voice) if seeded[i] else advocate  # a paid recommendation is never negative
            positive = max(positive, paid_voice) if seeded[i] else positive
            negative = 0.0 if seeded[i] else negative
            said[0, k] = np.uint16(advocate * UNIT + 0.5)
            said[1, k] = UNIT if speaking else 0
            said[2, k] = np.uint16(positive * UNIT + 0.5)
            said[3, k] = np.uint16(negative * UNIT + 0.5)

    @njit(cache=True, error_model="numpy", fastmath=_FAST)
    def _sum_neighbours(voices, indptr, indices, start, stop, summed):
        """summed[i - start] = the sum of the rows of voices of user i's neighbours, for start <= i < stop.

        The rows are read in random order, each from a distant part of memory:
        waiting for them is most of the walk's time. So the row wanted
        PREFETCH_AHEAD edges later is asked for in advance, and several are on
        their way at once (a third less time on a million users).
        """
        width = voices.shape[1]
        flat = voices.reshape(-1)
        last = indices.size - 1
        for i in range(start, stop):
            k = i - start
            for j in range(width):
                summed[k, j] = 0
            for e in range(indptr[i], indptr[i + 1]):
                _prefetch(flat, indices[min(e + PREFETCH_AHEAD, last)] * width)
                row = indices[e]
                for j in range(width):
                    summed[k, j] += voices[row, j]

    @_pjit
    def word_of_mouth(voices, indptr, indices, degree, complete, totals, awareness, trust,
                      awareness_spread, trust_influence, negativity_bias, heard_social,
                      adopted, adoption_day, purchases, fatigue, external, p, q, repurchase_rate,
                      experience_weight, quality, day, key, fatigue_kept, awareness_kept):
        """The rest of the day, after one walk over each user's neighbours.

        Neighbours' mean voices move awareness and trust; the network Bass hazard
        (with their mean advocacy) makes first purchases and trust repeat ones;
        then fatigue recovers and awareness fades: the numpy path's
        spread_word_of_mouth, make_purchases and learn, in that order, for each
        user. Neighbours' mean slots on each social sink go to heard_social, for
        tomorrow's attention (slots do not change between now and tomorrow's
        choice). Users are taken in blocks of `BLOCK`: the walk first, then
        brand by brand a loop without branches, which the compiler makes vector
        code. Returns per-chunk counts of first purchases and of sales per brand.
        """
        brands, n = trust.shape
        social = heard_social.shape[0]
        width = voices.shape[1]
        to_unit = 1.0 / UNIT
        chunk = _chunk_size(n)
        nchunks = (n + chunk - 1) // chunk
        counts = np.zeros((nchunks, brands, 2), dtype=np.int64)
        for c in prange(nchunks):
            summed = np.zeros((BLOCK, width), dtype=np.int64)
            heard = np.zeros((width, BLOCK))  # neighbours' mean voices, column by column
            end = min(n, (c + 1) * chunk)
            for start in range(c * chunk, end, BLOCK):
                size = min(BLOCK, end - start)
                first = np.uint64(start)  # unsigned indices: no wrap-around of negative ones, which stops vector code
                if complete:
                    for k in range(np.uint64(size)):
                        for j in range(width):
                            heard[j, k] = (totals[j] - voices[first + k, j]) / (n - 1) if n > 1 else 0.0
                else:
                    _sum_neighbours(voices, indptr, indices, start, start + size, summed)
                    for k in range(np.uint64(size)):
                        inverse = 1.0 / degree[first + k] if degree[first + k] > 0 else 0.0
                        for j in range(width):
                            heard[j, k] = summed[k, j] * inverse
                for b in range(brands):
                    _listen_and_buy(heard[4 * b], heard[4 * b + 1], heard[4 * b + 2], heard[4 * b + 3], start, size,
                                    awareness[b], trust[b], adopted[b], adoption_day[b], purchases[b], fatigue[b],
                                    external[b], awareness_spread * to_unit, trust_influence * to_unit,
                                    negativity_bias, p, q * to_unit, repurchase_rate, experience_weight, quality[b],
                                    day, key, np.uint64(brands), np.uint64(b), fatigue_kept, awareness_kept,
                                    counts[c, b])
                for j in range(social):
                    row = heard_social[j]
                    for k in range(np.uint64(size)):
                        row[first + k] = heard[4 * brands + j, k]
        return counts

    @njit(cache=True, inline="always", error_model="numpy", fastmath=_FAST)
    def _listen_and_buy(advocacy, listening, positive, negative, start, size, awareness, trust, adopted,
                        adoption_day, purchases, fatigue, external, spread, influence, negativity_bias, p, q,
                        repurchase_rate, experience_weight, quality, day, key, brands, b, fatigue_kept,
                        awareness_kept, counts):
        """One brand, one block of users: word of mouth, a purchase or not, and the night's forgetting.

        The first four arguments are the block's neighbours' mean voices, in
        fixed point (spread, influence and q carry the 1/UNIT). No branch:
        every choice is a select, so that the loop is vector code.
        """
        first_purchases = 0
        sales = 0
        for k in range(np.uint64(size)):
            i = np.uint64(start) + k  # unsigned: no wrap-around of negative indices, which stops vector code
            aware = np.float32(awareness[i] + spread * listening[k] * (1.0 - awareness[i]))
            t = trust[i] + influence * ((positive[k] - negativity_bias * negative[k]) - listening[k] * trust[i])
            t = min(max(t, -1.0), 1.0)
            draw = _unit(key, i * brands + b)
            was = adopted[i]
            hazard = 1.0 - (1.0 - p * external[i]) * (1.0 - q * advocacy[k])
            buying = draw < (repurchase_rate * (1.0 + t) * 0.5 if was else hazard)
            first = buying > was
            adopted[i] = was | buying
            adoption_day[i] = day if first else adoption_day[i]
            purchases[i] += np.int32(buying)
            trust[i] = t + experience_weight * (quality - t) if buying else t
            fatigue[i] *= fatigue_kept
            awareness[i] = aware * awareness_kept
            first_purchases += np.int64(first)
            sales += np.int64(buying)
        counts[0] += first_purchases
        counts[1] += sales
