"""The time-allocation kernel: pure functions on arrays.

Arrays are sink-major (sinks x users): every per-user reduction across sinks
is then a handful of contiguous vector operations.

Each user splits the day into equal slots over the sinks by a multinomial
logit. The slots are drawn by systematic sampling, with one uniform number per
user: a user's count on a sink is the floor or the ceiling of slots x
probability, and the counts sum to the number of slots exactly, so nobody
spends more (or less) time than they have.
"""

from __future__ import annotations

import numpy as np

#: Added to awareness before its log enters a destination's utility (an unaware user can still stumble on it).
AWARENESS_FLOOR = np.float32(1e-3)


def choose_slots(utility: np.ndarray, slots: int, uniform: np.ndarray) -> np.ndarray:
    """Slots per sink and user (sinks x users, uint8) from utilities; `utility` is overwritten.

    Sinks with utility -inf get no slot. `uniform` holds one U[0, 1) per user.
    """
    utility -= utility.max(axis=0)
    np.exp(utility, out=utility)
    for j in range(1, utility.shape[0]):  # cumulative sum over the few sinks
        np.add(utility[j], utility[j - 1], out=utility[j])
    utility /= utility[-1]  # cumulative probabilities; the last row is exactly 1
    utility *= np.float32(slots)
    utility += uniform
    np.floor(utility, out=utility)
    np.minimum(utility, np.float32(slots), out=utility)  # float32 rounding of slots + u near 1
    counts = np.empty(utility.shape, dtype=np.uint8)
    counts[0] = utility[0]
    np.subtract(utility[1:], utility[:-1], out=counts[1:], casting="unsafe")
    return counts


def logit_shares(utility: np.ndarray) -> np.ndarray:
    """Expected shares of time (sinks x users; each column sums to one)."""
    u = utility - utility.max(axis=0)
    e = np.exp(u)
    return e / e.sum(axis=0)
