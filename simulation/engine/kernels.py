"""The day's phases as parallel kernels (numba): one pass over users per phase, on every core.

Users are cut into chunks (`chunk_size`: 16,384 users, fewer in small populations) and the
chunks are shared among threads (`prange`). Every random number is a pure function of the run's
key, the day, a stream and the user (`streams`), and every sum over users is made of per-chunk
partial sums added in chunk order: a run gives the same results whatever the number of threads.

The rules are those of `mechanisms`, called for each user; this module only says in which
order, over which users, and where the results go. Inside a chunk, users are taken in blocks
of `BLOCK`, and the inner loops run along a block so that the compiler makes them vector code.
What keeps a loop vector code here (LLVM's loop vectoriser, seen in its remarks): unsigned
indices (numba wraps a negative signed index around, and that stops it), no branches and no
calls (selects, and the inlined rules and polynomials instead of libm), products rather than
selects inside sums, and few arrays per loop (too many and it gives up on proving they do not
overlap).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import prange

from simulation.engine import mechanisms as rule
from simulation.engine.jit import kernel, prefetch, scalar, serial
from simulation.engine.streams import draw_poissons, random_bits, unit, unit32

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


class Users(NamedTuple):
    """The users' state arrays the kernels read and write (sinks x users, brands x users, users)."""

    slots: np.ndarray  # uint8, sinks x users: today's split (yesterday's at the start of a day)
    budget: np.ndarray  # float32: minutes a day
    taste: np.ndarray  # float32, kinds x users
    savviness: np.ndarray  # float32
    awareness: np.ndarray  # float32, brands x users
    trust: np.ndarray  # float32, brands x users
    fatigue: np.ndarray  # float32, brands x users
    adopted: np.ndarray  # bool, brands x users
    adoption_day: np.ndarray  # int32, brands x users
    purchases: np.ndarray  # int32, brands x users
    reached: np.ndarray  # bool, brands x users
    fan: np.ndarray  # bool, brands x users
    seeded: np.ndarray  # bool, brands x users: paid to recommend the brand today
    urge: np.ndarray  # float32, brands x users: the urge to talk of a fresh experience (1 fresh, fading)
    last_touch: np.ndarray  # int32, brands x users: the last day of an impression or a visit (for last-touch sales)
    member: np.ndarray  # bool, sinks with members x users (§7.3a)


class Graph(NamedTuple):
    """Neighbour lists (CSR, sorted) or the complete graph (one dummy entry each)."""

    indptr: np.ndarray
    indices: np.ndarray
    degree: np.ndarray  # int32
    complete: bool


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


_chunk_size = scalar(chunk_size)


# --------------------------------------------------------------------------- §7.5 the Poisson sampler, for tests

@serial
def poissons(lam, key):
    """Poisson(lam[i]) draws with the counters of user i and a single brand: the sampler of `deliver`, for tests."""
    n = lam.size
    shown = np.empty(n)
    scratch = np.empty((3, BLOCK))
    for start in range(0, n, BLOCK):
        size = min(BLOCK, n - start)
        draw_poissons(lam[start:start + size], size, key, start, np.uint64(1), np.uint64(0),
                      shown[start:start + size], scratch[0], scratch[1], scratch[2])
    return shown


# --------------------------------------------------------------------------- §7.3–7.4 attention

@kernel
def allocate(users, params, kind_of_sink, pull, effect_per_slot, heard_social, social_of_column, member_of_column,
             destination_columns, key, consider_key, voices):
    """Today's slots per sink (in place) by multinomial logit and systematic sampling.

    `heard_social` (social sinks x users) holds the mean slots neighbours
    spent on each social sink yesterday, gathered with yesterday's word of
    mouth (see `word_of_mouth`). A sink with members (`member_of_column` >= 0)
    is open to its members only; a brand's destination, with choice sets, to
    the users the brand comes to mind today (a draw of `consider_key`, §7.3).
    Users are taken in blocks of `BLOCK`, sink
    by sink, so that every inner loop runs along contiguous memory. Today's
    slots on social sinks, then membership of each sink with members, also go
    to the users' rows of `voices` (see `deliver`).
    Returns per-chunk partial sums: minutes per sink and visitors per sink.
    """
    slots, budget, taste, trust, awareness = users.slots, users.budget, users.taste, users.trust, users.awareness
    member = users.member
    sinks, n = slots.shape
    per_slot_share = params.per_slot_share
    slots_per_day = np.float32(params.slots_per_day)
    chunk = _chunk_size(n)
    nchunks = (n + chunk - 1) // chunk
    minutes = np.zeros((nchunks, sinks))
    visitors = np.zeros((nchunks, sinks), dtype=np.int64)
    brands = destination_columns.size
    social = heard_social.shape[0]
    f_pull = pull.astype(np.float32)
    f_effect = effect_per_slot.astype(np.float32)
    f_habit = np.float32(params.habit_per_slot)
    f_saturation = np.float32(params.saturation_per_slot)
    f_zero = np.float32(0.0)
    f_trust_pull = np.float32(params.trust_pull)
    f_floor = np.float32(params.awareness_floor)
    choice_set = params.choice_set
    for c in prange(nchunks):
        utility = np.empty((sinks, BLOCK), dtype=np.float32)
        top = np.empty(BLOCK, dtype=np.float32)
        below = np.empty(BLOCK, dtype=np.float32)
        draw = np.empty(BLOCK, dtype=np.float32)
        chunk_minutes = np.zeros(sinks)
        chunk_visitors = np.zeros(sinks, dtype=np.int64)
        end = min(n, (c + 1) * chunk)
        for start in range(c * chunk, end, BLOCK):
            size = min(BLOCK, end - start)
            first = np.uint64(start)  # unsigned indices: no wrap-around of negative ones, which stops vector code
            for k in range(np.uint64(size)):
                draw[k] = unit32(key, first + k)
            for s in range(sinks):
                row_taste = taste[kind_of_sink[s]]
                row_slots = slots[s]
                p = f_pull[s]
                j = social_of_column[s]
                if j >= 0:
                    w = f_effect[s]
                    row_heard = heard_social[j]
                    for k in range(np.uint64(size)):
                        utility[s, k] = rule.sink_utility(
                            row_taste[first + k], p,
                            rule.reinforcement(f_habit, row_slots[first + k], w, row_heard[first + k], f_saturation))
                else:
                    for k in range(np.uint64(size)):
                        utility[s, k] = rule.sink_utility(
                            row_taste[first + k], p,
                            rule.reinforcement(f_habit, row_slots[first + k], f_zero, f_zero, f_saturation))
                m = member_of_column[s]
                if m >= 0:
                    row_member = member[m]
                    column = 4 * brands + social + m
                    for k in range(np.uint64(size)):
                        utility[s, k] = rule.open_to(utility[s, k], row_member[first + k])
                        voices[first + k, column] = np.uint16(row_member[first + k])
            for b in range(brands):
                d = destination_columns[b]
                nb, ub = np.uint64(brands), np.uint64(b)
                for k in range(np.uint64(size)):
                    i = first + k
                    considered = rule.comes_to_mind(awareness[b, i], unit32(consider_key, i * nb + ub))
                    utility[d, k] += rule.destination_pull(trust[b, i], awareness[b, i], f_trust_pull, f_floor,
                                                           considered, choice_set)
            for k in range(np.uint64(size)):
                top[k] = utility[0, k]
            for s in range(1, sinks):
                for k in range(np.uint64(size)):
                    top[k] = max(top[k], utility[s, k])
            for s in range(sinks):
                for k in range(np.uint64(size)):
                    utility[s, k] = rule.logit_weight(utility[s, k], top[k])
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
                    upto = rule.slots_up_to(utility[s, k], utility[sinks - 1, k], slots_per_day, draw[k])
                    count = upto - below[k]
                    below[k] = upto
                    row_slots[first + k] = np.uint8(count)
                    spent += count * budget[first + k]
                    seen += count > 0
                chunk_minutes[s] += rule.minutes_per_slot(spent, per_slot_share)  # the sum of budgets, per slot
                chunk_visitors[s] += seen
                j = social_of_column[s]
                if j >= 0:
                    column = 4 * brands + j
                    for k in range(np.uint64(size)):
                        voices[first + k, column] = row_slots[first + k]
        minutes[c] = chunk_minutes
        visitors[c] = chunk_visitors
    return minutes, visitors


# --------------------------------------------------------------------------- §7.5–7.8 exposure

@kernel
def visitor_keys(slots_row, key):
    """Random keys of the users who visited (slots_row > 0), to choose whom a brand answers (§7.7)."""
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
                out[k] = random_bits(key, np.uint64(i))
                k += 1
    return out


@kernel
def deliver(users, params, ad_load, rates, destination_columns, feed_columns, novelty, caps, answer_mode, answer_below,
            answer_key, day, key, impressions, external, feed, voices):
    """Impressions (Poisson), their effect and clicks, time at destinations and answers; state updated in place.

    `caps`: per brand, the most impressions one user is shown in a day (frequency cap; negative: none).
    `feed` gets each user's share of the day's feed (§7.9), from the minutes on `feed_columns`
    (the social platforms); what the user says is scaled by it.

    Then what each user will say of each brand goes to the user's row of
    `voices`, in fixed point (UNIT is 1): per brand b, advocacy at 4b,
    the voice's weight at 4b + 1, the positive part of the voiced opinion at 4b + 2
    and its negative part at 4b + 3 (weighted by the negativity bias once
    averaged); `allocate` wrote the slots on social sinks after them. A row
    of 16-bit figures keeps the random reads of neighbours' rows, the
    dearest part of the day, small.

    Users are taken in blocks of `BLOCK`; for each brand, the Poisson draws
    are a loop of their own and the rest is vector code (see `_expose`).
    Returns per-chunk partial sums, brands x 7: impressions, users reached,
    answers, engaged minutes, impressions and clicks to first-time viewers, clicks.
    """
    slots, budget, savviness, fatigue = users.slots, users.budget, users.savviness, users.fatigue
    sinks, n = slots.shape
    brands = destination_columns.size
    per_slot_share = params.per_slot_share
    chunk = _chunk_size(n)
    nchunks = (n + chunk - 1) // chunk
    sums = np.zeros((nchunks, brands, 7))
    ad_sinks = np.flatnonzero(ad_load > 0)
    for c in prange(nchunks):
        seen = np.empty(BLOCK)
        social_slots = np.empty(BLOCK)
        expected = np.empty((brands, BLOCK))
        scale = np.empty(BLOCK)
        shown = np.empty(BLOCK)
        scratch = np.empty((3, BLOCK))
        worn = np.empty(BLOCK, dtype=np.float32)
        kept = np.empty(BLOCK, dtype=np.float32)
        unengaged = np.empty(BLOCK, dtype=np.float32)
        said = np.empty((4, BLOCK), dtype=np.uint16)
        total = np.zeros((brands, 7))
        end = min(n, (c + 1) * chunk)
        for start in range(c * chunk, end, BLOCK):
            size = min(BLOCK, end - start)
            first = np.uint64(start)  # unsigned indices: no wrap-around of negative ones, which stops vector code
            for k in range(np.uint64(size)):
                scale[k] = rule.minutes_per_slot(budget[first + k], per_slot_share)
                seen[k] = 0.0
                social_slots[k] = 0.0
            for s in feed_columns:
                row = slots[s]
                for k in range(np.uint64(size)):
                    social_slots[k] += row[first + k]
            for k in range(np.uint64(size)):
                feed[first + k] = np.float32(rule.feed_share(social_slots[k] * scale[k], params.feed_minutes))
            for b in range(brands):
                for k in range(np.uint64(size)):
                    expected[b, k] = 0.0
            for s in ad_sinks:  # §7.5: ads each user could be shown, and each brand's expected impressions
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
                draw_poissons(lam, size, key, start, np.uint64(brands), np.uint64(b), shown, scratch[0], scratch[1],
                              scratch[2])
                cap = caps[b]
                if cap >= 0:  # §7.5 frequency cap: what a user would see beyond it is not shown
                    for k in range(np.uint64(size)):
                        shown[k] = min(shown[k], cap)
                stays = slots[destination_columns[b]]
                effect = np.float32(rule.campaign_effect(params.ad_effect, novelty[b]))
                for k in range(np.uint64(size)):
                    i = first + k
                    worn[k] = rule.ad_wear(savviness[i], fatigue[b, i])
                    kept[k] = rule.unmoved_by_ads(shown[k], effect, worn[k])
                    unengaged[k] = rule.unengaged(stays[i] * scale[k], params.engagement_minutes)
                _expose(users, params, b, shown, worn, kept, unengaged, scale, stays, start, size, impressions[b],
                        external[b], feed, answer_mode[b], answer_below[b], answer_key[b], day, said, total[b])
                for k in range(np.uint64(size)):
                    for j in range(4):
                        voices[first + k, 4 * b + j] = said[j, k]
            for k in range(np.uint64(size)):
                i = first + k
                savviness[i] = rule.savviness_after_ads(savviness[i], seen[k] * scale[k], params.savviness_per_ad,
                                                        params.savviness_initial, params.savviness_kept)
        sums[c] = total
    return sums


@scalar
def _expose(users, params, b, shown, worn, kept, unengaged, scale, stays, start, size, impressions, external, feed,
            answer_mode, answer_below, answer_key, day, said, total):
    """One brand, one block of users: what today's impressions and visits do, and what each user will say.

    answer_mode is 1 (answer every visitor), 0 (none) or -1 (those whose key is at most answer_below, §7.7).
    shown, worn, kept and unengaged are `deliver`'s, for the block. No
    branch and unsigned indices: the loop is vector code. What users say
    goes to said (4 x block, fixed point, see `deliver`); the day's figures
    are added to total (see `deliver`).
    """
    awareness, trust, fatigue = users.awareness[b], users.trust[b], users.fatigue[b]
    reached, fan, adopted, seeded = users.reached[b], users.fan[b], users.adopted[b], users.seeded[b]
    urge, last_touch = users.urge[b], users.last_touch[b]
    banner_weight, site_weight = np.float32(params.banner_weight), np.float32(params.site_weight)
    delivered = reached_today = answers = engaged = first_impressions = first_clicks = all_clicks = 0.0
    for k in range(np.uint64(size)):
        i = np.uint64(start) + k
        count = shown[k]
        response = rule.ad_response(kept[k])
        clicked = rule.clicks(count, params.click_rate, worn[k])
        newcomer = 0.0 if reached[i] else 1.0  # (products, not selects, in sums: they stay vector code)
        delivered += count
        reached_today += min(count, 1.0)
        all_clicks += clicked
        first_impressions += count * newcomer
        first_clicks += clicked * newcomer
        reached[i] = True if count > 0.0 else reached[i]  # (a select: `|` here stops vector code)
        fatigue[i] = rule.fatigue_after_impressions(fatigue[i], count, params.fatigue_per_impression)
        visiting = stays[i] > 0
        engaged += stays[i] * scale[k]
        pull = rule.external_pull(response, unengaged[k], visiting)
        fan[i] = True if visiting else fan[i]
        answered = visiting & ((answer_mode > 0) | ((answer_mode < 0) & (random_bits(answer_key, i) <= answer_below)))
        answers += 1.0 if answered else 0.0
        trust[i] = rule.trust_after_answer(trust[i], params.answer_gain) if answered else trust[i]
        urge[i] = 1.0 if answered else urge[i]
        last_touch[i] = day if (count > 0.0) | visiting else last_touch[i]
        awareness[i] = rule.awareness_after_exposure(awareness[i], pull)
        persuasion = rule.persuaded(response, unengaged[k], visiting, banner_weight, site_weight)
        external[i] = rule.bass_external(persuasion, params.full_exposure)
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
        advocacy, weight, positive, negative = rule.voices(trust[i], adopted[i], fan[i], seeded[i], urge[i],
                                                           params.paid_voice, params.talk_threshold, feed[i])
        said[0, k] = np.uint16(advocacy * UNIT + 0.5)
        said[1, k] = np.uint16(weight * UNIT + 0.5)
        said[2, k] = np.uint16(positive * UNIT + 0.5)
        said[3, k] = np.uint16(negative * UNIT + 0.5)


# --------------------------------------------------------------------------- §7.9–7.13 word of mouth, purchases, learning

@kernel
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


@serial
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
            prefetch(flat, indices[min(e + PREFETCH_AHEAD, last)] * width)
            row = indices[e]
            for j in range(width):
                summed[k, j] += voices[row, j]


@kernel
def word_of_mouth(users, params, graph, voices, totals, heard_social, external, feed, quality, baseline, joining, day,
                  key, membership_key):
    """The rest of the day, after one walk over each user's neighbours.

    Neighbours' mean voices move awareness and trust; the network Bass hazard
    (with their mean advocacy) makes first purchases and trust repeat ones;
    then fatigue recovers, awareness fades, trust fades toward the brand's
    `baseline` and the urge to talk fades (§7.9–7.13, in that order, for each user).
    Then users join or leave each sink with members (§7.3a), pulled by the
    share of neighbours who are members (`joining`: per such sink, its daily
    p, q and lapse, all 0 while it is not open). Neighbours' mean slots on each
    social sink go to heard_social, for tomorrow's attention (slots do not
    change between now and tomorrow's choice). What a user hears of the
    brands is scaled by their share of the feed (`feed`, §7.9). Users are
    taken in blocks of `BLOCK`: the walk first, then brand by brand a loop
    without branches, which the compiler makes vector code. `totals` are the
    column sums of `voices` (complete graph only). Returns per-chunk figures
    per brand (first purchases, sales, sales to users touched in the last
    `params.last_touch_days` days, conversations heard), and counts of joins
    and lapses per sink with members.
    """
    brands, n = users.trust.shape
    social = heard_social.shape[0]
    memberships = users.member.shape[0]
    width = voices.shape[1]
    chunk = _chunk_size(n)
    nchunks = (n + chunk - 1) // chunk
    counts = np.zeros((nchunks, brands, 4))
    member_counts = np.zeros((nchunks, max(memberships, 1), 2), dtype=np.int64)
    for c in prange(nchunks):
        summed = np.zeros((BLOCK, width), dtype=np.int64)
        heard = np.zeros((width, BLOCK))  # neighbours' mean voices, column by column
        end = min(n, (c + 1) * chunk)
        for start in range(c * chunk, end, BLOCK):
            size = min(BLOCK, end - start)
            first = np.uint64(start)  # unsigned indices: no wrap-around of negative ones, which stops vector code
            if graph.complete:
                for k in range(np.uint64(size)):
                    for j in range(width):
                        heard[j, k] = rule.neighbours_mean(totals[j] - voices[first + k, j], n - 1)
            else:
                _sum_neighbours(voices, graph.indptr, graph.indices, start, start + size, summed)
                for k in range(np.uint64(size)):
                    degree = graph.degree[first + k]
                    for j in range(width):
                        heard[j, k] = rule.neighbours_mean(summed[k, j], degree)
            for b in range(brands):
                _listen_and_buy(users, params, graph.degree, b, heard[4 * b], heard[4 * b + 1], heard[4 * b + 2],
                                heard[4 * b + 3], start, size, external[b], feed, quality[b], baseline[b], day, key,
                                np.uint64(brands), counts[c, b])
            for j in range(social):
                row = heard_social[j]
                for k in range(np.uint64(size)):
                    row[first + k] = heard[4 * brands + j, k]
            for m in range(memberships):
                _join_or_lapse(users.member[m], heard[4 * brands + social + m], joining[m, 0], joining[m, 1],
                               joining[m, 2], start, size, membership_key, np.uint64(memberships), np.uint64(m),
                               member_counts[c, m])
    return counts, member_counts


@scalar
def _join_or_lapse(member, members_around, join_p, join_q, lapse, start, size, key, memberships, m, counts):
    """One sink with members, one block of users: who joins and who leaves tonight (§7.3a)."""
    joins = 0
    lapses = 0
    for k in range(np.uint64(size)):
        i = np.uint64(start) + k
        was = member[i]
        draw = unit(key, i * memberships + m)
        now = rule.member_tomorrow(was, draw, rule.joining_hazard(join_p, join_q, members_around[k]), lapse)
        member[i] = now
        joins += np.int64(now > was)
        lapses += np.int64(was > now)
    counts[0] += joins
    counts[1] += lapses


@scalar
def _listen_and_buy(users, params, degree, b, advocacy, listening, positive, negative, start, size, external, feed,
                    quality, baseline, day, key, brands, counts):
    """One brand, one block of users: word of mouth, a purchase or not, and the night's forgetting.

    The four heard figures are the block's neighbours' mean voices, in fixed
    point (the rates applied to them carry the 1/UNIT), taken in at the
    user's share of the feed. No branch: every choice is a select, so that the
    loop is vector code.
    """
    awareness, trust, fatigue = users.awareness[b], users.trust[b], users.fatigue[b]
    adopted, adoption_day, purchases = users.adopted[b], users.adoption_day[b], users.purchases[b]
    urge, last_touch = users.urge[b], users.last_touch[b]
    to_unit = 1.0 / UNIT
    spread = params.awareness_spread * to_unit
    influence = params.trust_influence * to_unit
    q = params.q * to_unit
    first_purchases = 0.0
    sales = 0.0
    touched_sales = 0.0
    conversations = 0.0
    for k in range(np.uint64(size)):
        i = np.uint64(start) + k  # unsigned: no wrap-around of negative indices, which stops vector code
        heeding = feed[i]
        heard_weight = listening[k] * heeding
        conversations += heard_weight * degree[i]
        aware = np.float32(rule.awareness_after_listening(awareness[i], spread, heard_weight))
        before = trust[i]
        t = rule.trust_after_listening(before, influence, positive[k] * heeding, negative[k] * heeding,
                                       params.negativity_bias, heard_weight)
        draw = unit(key, i * brands + np.uint64(b))
        was = adopted[i]
        hazard = rule.adoption_hazard(params.p * external[i] * rule.funnel(aware, t, params.funnel), q * advocacy[k] * heeding)
        buying = rule.buys(draw, was, rule.repurchase_probability(t, params.repurchase_rate), hazard)
        newly = buying > was
        adopted[i] = was | buying
        adoption_day[i] = day if newly else adoption_day[i]
        purchases[i] += np.int32(buying)
        after = rule.trust_after_purchase(t, params.experience_weight, quality) if buying else t
        fresh = rule.urge_after_the_day(before, after, buying, urge[i])
        urge[i] = rule.overnight(fresh, params.urge_kept)
        trust[i] = rule.toward_baseline(after, baseline, params.trust_kept)
        fatigue[i] = rule.overnight(fatigue[i], params.fatigue_kept)
        awareness[i] = rule.overnight(aware, params.awareness_kept)
        first_purchases += 1.0 if newly else 0.0
        sales += 1.0 if buying else 0.0
        touched_sales += 1.0 if buying & rule.touched_lately(day, last_touch[i], params.last_touch_days) else 0.0
    counts[0] += first_purchases
    counts[1] += sales
    counts[2] += touched_sales
    counts[3] += conversations * to_unit
