"""The exponential and logarithm of the rules, as polynomials the compiler makes vector code.

libm's exp and log are a call per value, which stops a loop from being vector code (they cost a
third of the day). These are written without branches or calls: a loop over users that calls
them (inlined) stays vector code. ODD §7.17 states their accuracy; tests/test_engine.py checks it.
"""

from __future__ import annotations

import numpy as np

from simulation.engine.jit import bits_of_float32, float32_from_bits, float64_from_bits, scalar

#: Exponents below this give 0 (e^-87 is under float32's smallest normal).
EXP32_LOWEST = np.float32(-87.0)


@scalar
def exp32(x):
    """e^x in float32, within about one rounding; 0 for x <= -87 (and for -inf).

    e^x = 2^n e^f with n the integer nearest x log2(e) (2^n written in the
    exponent bits) and f = x - n ln 2 (Cody and Waite's two-part ln 2),
    |f| <= 0.35, by its Taylor polynomial of degree 7 (truncation 5e-9).
    """
    clamped = max(x, EXP32_LOWEST)
    n = np.floor(clamped * np.float32(1.4426950408889634) + np.float32(0.5))
    f = (clamped - n * np.float32(0.693359375)) + n * np.float32(2.12194440e-4)  # x - n ln 2, in two parts
    p = np.float32(1.0 / 5040.0)
    p = p * f + np.float32(1.0 / 720.0)
    p = p * f + np.float32(1.0 / 120.0)
    p = p * f + np.float32(1.0 / 24.0)
    p = p * f + np.float32(1.0 / 6.0)
    p = p * f + np.float32(0.5)
    p = p * f + np.float32(1.0)
    p = p * f + np.float32(1.0)
    scale = float32_from_bits((np.int32(n) + np.int32(127)) << np.int32(23))
    return p * scale if x > EXP32_LOWEST else np.float32(0.0)


@scalar
def log32(x):
    """ln x in float32 for a positive normal x, within two roundings.

    x = m 2^e with m in [sqrt(1/2), sqrt(2)) read from the bits; ln m = 2 atanh(s),
    s = (m - 1)/(m + 1), |s| <= 0.172, by its series to s^9 (truncation 1e-9).
    """
    bits = bits_of_float32(x)
    upper = np.int32(1) if (bits & np.int32(0x7FFFFF)) > np.int32(0x3504F3) else np.int32(0)  # m >= sqrt 2
    exponent = ((bits >> np.int32(23)) & np.int32(0xFF)) - np.int32(127) + upper
    m = float32_from_bits((bits & np.int32(0x7FFFFF)) | (np.int32(0x3F800000) - (upper << np.int32(23))))
    s = (m - np.float32(1.0)) / (m + np.float32(1.0))
    s2 = s * s
    p = np.float32(1.0 / 9.0)
    p = p * s2 + np.float32(1.0 / 7.0)
    p = p * s2 + np.float32(1.0 / 5.0)
    p = p * s2 + np.float32(1.0 / 3.0)
    p = p * s2 + np.float32(1.0)
    return np.float32(exponent) * np.float32(0.6931471805599453) + np.float32(2.0) * s * p


@scalar
def exp64_negative(x):
    """e^x in float64 for x <= 0 (exactly 0 from -708 down): relative error below 1e-15 on [-10, 0].

    As `exp32`, in double precision: Taylor polynomial of degree 12 on
    |f| <= 0.35 (truncation 2e-16), 2^n written in the exponent bits.
    """
    clamped = max(x, -708.0)
    n = np.floor(clamped * 1.4426950408889634 + 0.5)
    f = (clamped - n * 0.6931471803691238) - n * 1.9082149292705877e-10  # x - n ln 2, in two parts
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
    scale = float64_from_bits((np.int64(n) + np.int64(1023)) << np.int64(52))
    return p * scale if x > -708.0 else 0.0
