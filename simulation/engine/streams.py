"""The counter-based random generator of the engine, and its Poisson sampler.

A uniform is a pure function of the run's key, the day, a stream number (one per use) and a
counter (the user, or the user and brand): the splitmix64 mix of key + counter x golden gamma.
So a run does not depend on the number of threads nor on the order users are visited (ODD §7.17).
"""

from __future__ import annotations

import math

import numpy as np

from simulation.engine.jit import scalar, serial
from simulation.engine.numerics import exp64_negative

# Random streams: one per use, so that no two uses ever share a number.
STREAM_SLOTS = 1
STREAM_IMPRESSIONS = 2
STREAM_PURCHASES = 3
STREAM_MEMBERSHIP = 4  # joining and lapsing of platforms with members
STREAM_CONSIDER = 5  # whether each brand comes to mind today (choice sets, §7.3)
STREAM_ANSWERS = 16  # and up: one stream per brand

GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S40 = np.uint64(40)
_BITS53 = 1.0 / 9007199254740992.0  # 2**-53: 53 random bits to [0, 1)
_BITS24 = np.float32(1.0 / 16777216.0)  # 2**-24
#: Counters reserved per (user, brand) for the Poisson sampler.
POISSON_DRAWS = np.uint64(64)
#: The inversion's last step (below a mean of 10, the chance of going further is nil).
INVERSION_STEPS = 1000
RECIPROCALS = 1.0 / np.maximum(np.arange(INVERSION_STEPS + 1), 1)  # 1/k: a product is quicker than a division


@scalar
def mix64(z):
    """splitmix64's finaliser: a bijection of uint64 that scrambles every bit."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@scalar
def random_bits(key, counter):
    """64 random bits for (key, counter)."""
    return mix64(key + counter * GAMMA)


@scalar
def unit(key, counter):
    """U[0, 1) for (key, counter), with 53 random bits."""
    return float(random_bits(key, counter) >> _S11) * _BITS53


@scalar
def unit32(key, counter):
    """U[0, 1) with 24 random bits: exact in float32, whose rounding of a 53-bit draw could give 1.0."""
    return np.float32(random_bits(key, counter) >> _S40) * _BITS24


@serial
def stream_key(run_key, day, stream):
    """The key of one stream on one day."""
    return mix64(mix64(np.uint64(run_key) + np.uint64(day) * GAMMA) + np.uint64(stream) * _M1)


@serial
def uniforms(key, start, count):
    """`count` consecutive uniforms of a stream (for tests of the generator)."""
    out = np.empty(count)
    for i in range(count):
        out[i] = unit(key, np.uint64(start + i))
    return out


@scalar
def poisson_counter(user, brands, b):
    """The first of the 64 counters of the Poisson draw of (user, brand b of `brands`)."""
    return (np.uint64(user) * brands + b) * POISSON_DRAWS


@serial
def poisson_from_10(lam, key, counter):
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
        u = unit(key, counter + np.uint64(2 * attempt)) - 0.5
        v = unit(key, counter + np.uint64(2 * attempt + 1))
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return int(k)
        if k < 0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)) <= (-lam + k * loglam - math.lgamma(k + 1.0)):
            return int(k)
    return int(math.floor(lam + 0.5))  # 31 rejections in a row: probability below 1e-30


@scalar
def draw_poissons(lam, size, key, first, brands, b, shown, probability, cumulative, u):
    """shown[k] ~ Poisson(lam[k]) for k < size, for user first + k and brand b of `brands`.

    Each draw uses its own counters, (user x brands + brand) x 64 onward.
    Below a mean of 10, by inversion: the draw is the number of terms of
    the cumulative distribution below its uniform. All users of the block
    step through the terms together, as vector code, until every one has
    passed its uniform. From a mean of 10 on, by `poisson_from_10`. A mean of
    0 or below draws 0. probability, cumulative and u are scratch space.
    """
    for k in range(np.uint64(size)):
        inverted = lam[k] > 0.0 and lam[k] < 10.0
        u[k] = unit(key, poisson_counter(np.uint64(first) + k, brands, b)) if inverted else 0.0  # 0: no term is below it
        probability[k] = exp64_negative(-min(max(lam[k], 0.0), 10.0))  # P(0) = e^-lam
        cumulative[k] = probability[k]
        shown[k] = 0.0
    for term in range(1, INVERSION_STEPS + 1):
        below = 0
        for k in range(size):
            more = u[k] > cumulative[k]
            shown[k] += 1.0 if more else 0.0
            below += 1 if more else 0
            probability[k] *= max(lam[k], 0.0) * RECIPROCALS[term]  # (a negative mean must not shrink the sum)
            cumulative[k] += probability[k]
        if below == 0:
            break
    for k in range(size):
        if lam[k] >= 10.0:
            shown[k] = poisson_from_10(lam[k], key, poisson_counter(first + k, brands, b))
