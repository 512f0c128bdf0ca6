"""Compiled kernels of the day (numba): one pass over users per phase, on every core.

Users are cut into fixed chunks of `CHUNK` users and the chunks are shared
among threads (`prange`). Every random number is a pure function of the run's
key, the day, a stream number and the user (a counter-based generator: the
splitmix64 mix of a counter), and every sum over users is made of per-chunk
partial sums added in chunk order. So a run gives the same results whatever
the number of threads, and it does not depend on the order users are visited.

The arithmetic is that of the numpy path in `simulation.model`; only the random
numbers differ (that path draws from the model's numpy generator), so the two
agree in distribution, not draw for draw.
"""

from __future__ import annotations

import math

import numpy as np

try:
    import numba
    from numba import njit, prange
except ImportError:  # pragma: no cover - numba is a dependency; this is the fallback's reason to exist
    numba = None

AVAILABLE = numba is not None

#: Users per chunk: the unit of work of a thread and of partial sums.
CHUNK = 16_384
#: Fixed point of what neighbours hear (`pack_voices`): 1.0 is UNIT, a resolution of 1.5e-5.
UNIT = 65535
#: Users per block inside a chunk: a block's sinks x users scratch stays in the first-level cache.
BLOCK = 256

# Random streams: one per use, so that no two uses ever share a number.
STREAM_SLOTS = 1
STREAM_IMPRESSIONS = 2
STREAM_ANSWERS = 3
STREAM_PURCHASES = 4

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
_POISSON_DRAWS = np.uint64(64)  # counters reserved per (user, brand) for the Poisson sampler


def chunks(n: int) -> int:
    """Number of chunks for n users."""
    return (n + CHUNK - 1) // CHUNK


if AVAILABLE:
    _jit = njit(cache=True, nogil=True)
    _pjit = njit(cache=True, nogil=True, parallel=True, fastmath={"nsz", "arcp", "contract", "afn", "reassoc"})

    @njit(cache=True, inline="always")
    def mix64(z):
        """splitmix64's finaliser: a bijection of uint64 that scrambles every bit."""
        z = (z ^ (z >> _S30)) * _M1
        z = (z ^ (z >> _S27)) * _M2
        return z ^ (z >> _S31)

    @njit(cache=True, inline="always")
    def _unit(key, counter):
        """U[0, 1) for (key, counter), with 53 random bits."""
        return float(mix64(key + counter * _GAMMA) >> _S11) * _TO_UNIT

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

    @njit(cache=True)
    def _poisson(lam, key, counter):
        """A Poisson(lam) draw from the uniforms at counter, counter + 1, ... (inversion, or PTRS above 10)."""
        if lam <= 0.0:
            return 0
        if lam < 10.0:
            u = _unit(key, counter)
            if u <= 1.0 - lam:  # then u <= exp(-lam): no impression, without computing the exponential
                return 0
            p = math.exp(-lam)
            cumulative = p
            k = 0
            while u > cumulative and k < 1000:
                k += 1
                p *= lam / k
                cumulative += p
            return k
        # Hörmann's transformed rejection with squeeze (PTRS), as numpy uses for lam >= 10.
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

    # ------------------------------------------------------------------ graph

    @_pjit
    def column_totals(values):
        """Sums of each column of values (users x k), as per-chunk partial sums added in order."""
        n, k = values.shape
        parts = np.zeros(((n + CHUNK - 1) // CHUNK, k))
        for c in prange(parts.shape[0]):
            for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
                for j in range(k):
                    parts[c, j] += values[i, j]
        total = np.zeros(k)
        for c in range(parts.shape[0]):
            total += parts[c]
        return total

    # ------------------------------------------------------------------ the day's phases

    @_pjit
    def allocate(slots, taste, kind_of_sink, pull, habit, social, heard_social, social_of_column,
                 destination_columns, trust, awareness, trust_pull, awareness_floor, key, per_slot_share, budget):
        """Today's slots per sink (in place) by multinomial logit and systematic sampling.

        `heard_social` (social sinks x users) holds the mean slots neighbours
        spent on each social sink yesterday, gathered with yesterday's word of
        mouth (see `word_of_mouth`). Users are taken in blocks of `BLOCK`, sink
        by sink, so that every inner loop runs along contiguous memory.
        Returns per-chunk partial sums: minutes per sink and visitors per sink.
        """
        sinks, n = slots.shape
        slots_per_day = np.float32(1.0 / per_slot_share)
        nchunks = (n + CHUNK - 1) // CHUNK
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
            chunk_minutes = np.zeros(sinks)
            chunk_visitors = np.zeros(sinks, dtype=np.int64)
            end = min(n, (c + 1) * CHUNK)
            for start in range(c * CHUNK, end, BLOCK):
                size = min(BLOCK, end - start)
                for k in range(size):
                    draw[k] = _unit(key, np.uint64(start + k))
                for s in range(sinks):
                    row_taste = taste[kind_of_sink[s]]
                    row_slots = slots[s]
                    p = f_pull[s]
                    for k in range(size):
                        utility[s, k] = row_taste[start + k] + p + f_habit * row_slots[start + k]
                    j = social_of_column[s]
                    if j >= 0:
                        w = f_social[s]
                        row_heard = heard_social[j]
                        for k in range(size):
                            utility[s, k] += w * row_heard[start + k]
                for b in range(brands):
                    d = destination_columns[b]
                    for k in range(size):
                        utility[d, k] += f_trust_pull * abs(trust[b, start + k]) + np.float32(
                            math.log(awareness[b, start + k] + awareness_floor))
                for k in range(size):
                    top[k] = utility[0, k]
                for s in range(1, sinks):
                    for k in range(size):
                        top[k] = max(top[k], utility[s, k])
                for s in range(sinks):
                    for k in range(size):
                        utility[s, k] = math.exp(utility[s, k] - top[k])
                for s in range(1, sinks):
                    for k in range(size):
                        utility[s, k] += utility[s - 1, k]  # cumulative
                for k in range(size):
                    below[k] = 0.0
                for s in range(sinks):
                    row_slots = slots[s]
                    spent = 0.0
                    seen = 0
                    for k in range(size):
                        upto = min(math.floor(utility[s, k] / utility[sinks - 1, k] * slots_per_day + draw[k]), slots_per_day)
                        count = upto - below[k]
                        below[k] = upto
                        row_slots[start + k] = np.uint8(count)
                        spent += count * budget[start + k]
                        seen += count > 0
                    chunk_minutes[s] += spent * per_slot_share
                    chunk_visitors[s] += seen
            minutes[c] = chunk_minutes
            visitors[c] = chunk_visitors
        return minutes, visitors

    @_pjit
    def visitor_keys(slots_row, key):
        """Random keys of the users who visited (slots_row > 0), to choose whom a brand answers."""
        n = slots_row.size
        nchunks = (n + CHUNK - 1) // CHUNK
        counts = np.zeros(nchunks + 1, dtype=np.int64)
        for c in prange(nchunks):
            for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
                if slots_row[i] > 0:
                    counts[c + 1] += 1
        for c in range(nchunks):
            counts[c + 1] += counts[c]
        out = np.empty(counts[nchunks], dtype=np.uint64)
        for c in prange(nchunks):
            k = counts[c]
            for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
                if slots_row[i] > 0:
                    out[k] = mix64(key + np.uint64(i) * _GAMMA)
                    k += 1
        return out

    @_pjit
    def deliver(slots, budget, per_slot_share, ad_load, rates, destination_columns, novelty,
                savviness, fatigue, awareness, trust, reached, fan, impressions, external,
                ad_effect, click_rate, engagement_minutes, answer_all, answer_below, answer_key,
                answer_gain, fatigue_per_impression, savviness_growth, full_exposure, key):
        """Impressions (Poisson), their effect and clicks, time at destinations and answers; state updated in place.

        Returns per-chunk partial sums, brands x 7: impressions, users reached,
        answers, engaged minutes, impressions and clicks to first-time viewers, clicks.
        """
        sinks, n = slots.shape
        brands = destination_columns.size
        nchunks = (n + CHUNK - 1) // CHUNK
        sums = np.zeros((nchunks, brands, 7))
        for c in prange(nchunks):
            weight = np.empty(sinks)
            for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
                scale = budget[i] * per_slot_share
                seen = 0.0
                for s in range(sinks):
                    weight[s] = slots[s, i] * scale * ad_load[s]
                    seen += weight[s]
                naive = 1.0 - savviness[i]
                for b in range(brands):
                    expected = 0.0
                    for s in range(sinks):
                        expected += rates[s, b] * weight[s]
                    shown = _poisson(expected, key, (np.uint64(i) * np.uint64(brands) + np.uint64(b)) * _POISSON_DRAWS)
                    impressions[b, i] = shown
                    response = clicks = 0.0
                    if shown > 0:  # most users see no ad of a brand on a given day: skip the transcendentals
                        worn = naive * math.exp(-fatigue[b, i])
                        response = 1.0 - (1.0 - ad_effect * novelty[b] * worn) ** shown
                        clicks = shown * click_rate * worn
                    stay = slots[destination_columns[b], i] * scale
                    visiting = stay > 0
                    engagement = 1.0 - math.exp(-stay / engagement_minutes) if visiting else 0.0
                    answered = visiting and (answer_all[b] or mix64(answer_key[b] + np.uint64(i) * _GAMMA) <= answer_below[b])
                    first = not reached[b, i]
                    sums[c, b, 0] += shown
                    if shown > 0:
                        sums[c, b, 1] += 1
                    if answered:
                        sums[c, b, 2] += 1
                    sums[c, b, 3] += stay
                    if first:
                        sums[c, b, 4] += shown
                        sums[c, b, 5] += clicks
                    sums[c, b, 6] += clicks
                    pull = 1.0 - (1.0 - response) * (1.0 - engagement)
                    awareness[b, i] += (1.0 - awareness[b, i]) * pull
                    if answered:
                        trust[b, i] += answer_gain * (1.0 - trust[b, i])
                    fatigue[b, i] += shown * fatigue_per_impression
                    if shown > 0:
                        reached[b, i] = True
                    if visiting:
                        fan[b, i] = True
                    external[b, i] = 1.0 if full_exposure else pull
                savviness[i] = min(savviness[i] + savviness_growth * seen * naive, 1.0)
        return sums

    @_pjit
    def pack_voices(adopted, fan, trust, seeded, paid_voice, slots, social_columns, out):
        """What neighbours hear from each user: one row of `out` (users x VOICE_WIDTH, uint16) per user.

        Per brand b, in fixed point (UNIT is 1): advocacy at 4b, speaking at 4b + 1,
        the positive part of the voiced opinion at 4b + 2 and its negative part at
        4b + 3 (weighted by the negativity bias only once averaged). Then today's
        slots on each social sink, as counts. A narrow row makes the random reads
        of neighbours' rows, the dearest part of the day, cheap.
        """
        brands, n = trust.shape
        first_social = 4 * brands
        for c in prange((n + CHUNK - 1) // CHUNK):
            for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
                for b in range(brands):
                    t = trust[b, i]
                    speaking = adopted[b, i] or fan[b, i] or t < 0 or seeded[b, i]
                    advocate = max(t, 0.0) if adopted[b, i] else 0.0
                    positive = max(t, 0.0) if speaking else 0.0
                    negative = max(-t, 0.0) if speaking else 0.0
                    if seeded[b, i]:  # a paid recommendation is never negative
                        advocate = max(advocate, paid_voice)
                        positive = max(positive, paid_voice)
                        negative = 0.0
                    out[i, 4 * b] = np.uint16(advocate * UNIT + 0.5)
                    out[i, 4 * b + 1] = UNIT if speaking else 0
                    out[i, 4 * b + 2] = np.uint16(positive * UNIT + 0.5)
                    out[i, 4 * b + 3] = np.uint16(negative * UNIT + 0.5)
                for j in range(social_columns.size):
                    out[i, first_social + j] = slots[social_columns[j], i]
                for j in range(first_social + social_columns.size, out.shape[1]):
                    out[i, j] = 0

    @_pjit
    def word_of_mouth(voices, indptr, indices, degree, complete, totals, awareness, trust,
                      awareness_spread, trust_influence, negativity_bias, q_pull, heard_social):
        """One walk over each user's neighbours: their mean voices move awareness and trust (in place),
        q_pull gets their mean advocacy and heard_social their mean slots on each social sink (for
        tomorrow's attention: slots do not change between today's word of mouth and tomorrow's choice)."""
        brands, n = trust.shape
        width = voices.shape[1]
        first_social = 4 * brands
        to_unit = 1.0 / UNIT
        for c in prange((n + CHUNK - 1) // CHUNK):
            summed = np.zeros(width, dtype=np.int64)
            heard = np.zeros(width)
            for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
                if complete:
                    for j in range(width):
                        heard[j] = (totals[j] - voices[i, j]) / (n - 1) if n > 1 else 0.0
                else:
                    for j in range(width):
                        summed[j] = 0
                    for e in range(indptr[i], indptr[i + 1]):
                        row = indices[e]
                        for j in range(width):
                            summed[j] += voices[row, j]
                    inverse = 1.0 / degree[i] if degree[i] > 0 else 0.0
                    for j in range(width):
                        heard[j] = summed[j] * inverse
                for b in range(brands):
                    listening = heard[4 * b + 1] * to_unit
                    opinion = (heard[4 * b + 2] - negativity_bias * heard[4 * b + 3]) * to_unit
                    awareness[b, i] += awareness_spread * listening * (1.0 - awareness[b, i])
                    t = trust[b, i] + trust_influence * (opinion - listening * trust[b, i])
                    trust[b, i] = min(max(t, -1.0), 1.0)
                    q_pull[b, i] = heard[4 * b] * to_unit
                for j in range(heard_social.shape[0]):
                    heard_social[j, i] = heard[first_social + j]

    @_pjit
    def purchase(adopted, adoption_day, purchases, trust, external, q_pull, p, q, repurchase_rate,
                 experience_weight, quality, day, key):
        """First purchases by the network Bass hazard, repeat purchases with trust; per-chunk new and total sales."""
        brands, n = trust.shape
        nchunks = (n + CHUNK - 1) // CHUNK
        counts = np.zeros((nchunks, brands, 2), dtype=np.int64)
        for c in prange(nchunks):
            for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
                for b in range(brands):
                    draw = _unit(key, np.uint64(i) * np.uint64(brands) + np.uint64(b))
                    if adopted[b, i]:
                        buying = draw < repurchase_rate * (1.0 + trust[b, i]) * 0.5
                    else:
                        hazard = 1.0 - (1.0 - p * external[b, i]) * (1.0 - q * q_pull[b, i])
                        buying = draw < hazard
                        if buying:
                            adopted[b, i] = True
                            adoption_day[b, i] = day
                            counts[c, b, 0] += 1
                    if buying:
                        purchases[b, i] += 1
                        trust[b, i] += experience_weight * (quality[b] - trust[b, i])
                        counts[c, b, 1] += 1
        return counts
