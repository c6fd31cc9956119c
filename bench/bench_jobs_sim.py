"""Replay a recorded render's costs through the ``--jobs 2`` sharing rules (no noise).

``bench_jobs_split.py FILE --jobs 1 --record costs.json`` records the CPU time
of every lane in every block, the floats it hands over, and the parent's mix
per block.  This script replays them through a model of
:mod:`synth.render.parallel` (the parent and one worker, lanes claimed as each
process reaches them, the ring's room) and prints the modelled render wall
and each process's busy and waiting time, for several settings of the sharing
rules.  On a machine shared with other work the measured walls move by tens
of percent from run to run; the model compares rules on the same costs.

What it leaves out: planning and the work after the last block
(``serial_end``), the CPU of the hand-over itself, other processes.

Usage::

    python bench/bench_jobs_sim.py costs.json [...]
"""

from __future__ import annotations

import collections
import json
import sys


def simulate(rec: dict, *, ahead: int = 1, ring_blocks: float = 8.0, tail: int = 4,
             serial_end: float = 0.35, turns: bool = True, own_ahead: int = 4,
             trace: bool = False) -> dict:
    """The modelled render: parent "P" and worker "W" block by block.

    The defaults are the rules of :mod:`synth.render.parallel` today.
    ``ahead``: the parent's claim look-ahead in blocks; ``ring_blocks``: the
    ring's room in blocks of 8 lanes; ``tail``: blocks of last lanes left to
    the worker; ``turns``: lanes starting in one block dealt in turns (else the
    first process to reach them takes them all); ``own_ahead``: blocks the
    parent may render its own lanes ahead of the mix while the worker's block
    is not there yet.
    """
    chunk = rec["chunk"]
    blocks = -(-rec["frames"] // chunk)
    lanes = rec["lanes"]                             # (part, start, has effects)
    cost = collections.defaultdict(dict)             # lane -> block -> CPU s
    floats = collections.Counter()                   # (lane, block) -> floats handed over
    for k, a, c, n in rec["lane"]:
        cost[k][a // chunk] = cost[k].get(a // chunk, 0.0) + c
        floats[k, a // chunk] += n
    mix = rec["mix"] + [0.0] * (blocks - len(rec["mix"]))
    ring = ring_blocks * 8 * chunk
    order = sorted(range(len(lanes)), key=lambda k: (lanes[k][1], lanes[k][0]))
    tail_start = max(ln[1] for ln in lanes) - tail * chunk
    turn, prev, j = {}, None, 0
    for k in order:
        j = j + 1 if lanes[k][1] // chunk == prev else 0
        prev = lanes[k][1] // chunk
        turn[k] = min(j % 2 + 1, 1 if lanes[k][1] >= tail_start else 2) if turns else 1
    owner, asked = {}, collections.Counter()
    clock = {"P": 0.0, "W": 0.0}
    busy = {"P": 0.0, "W": 0.0}
    wait = {"P": 0.0, "W": 0.0}
    pos = {"P": 0, "W": 0}                           # block being done (the parent: mixed)
    own = 0                                          # the parent's next own block
    nxt = {"P": 0, "W": 0}                           # next lane (index into order) to ask for
    stage = {"P": "render", "W": "render"}
    sent = [None] * blocks                           # when the worker sent each block
    freed_at = []                                    # when the parent finished each block
    put = [0.0] * blocks                             # floats of each worker block

    def claim(who, i):
        horizon = (i + 1 + (ahead if who == "P" else 0)) * chunk
        while nxt[who] < len(order) and lanes[order[nxt[who]]][1] < horizon:
            k = order[nxt[who]]
            nxt[who] += 1
            if (who == "P" and lanes[k][1] >= tail_start) or k in owner:
                continue
            asked[k] += 1
            if asked[k] >= turn[k]:
                owner[k] = who

    def render(who, i):
        claim(who, i)
        mine = [k for k, o in owner.items() if o == who and i in cost[k]]
        c = sum(cost[k][i] for k in mine)
        clock[who] += c
        busy[who] += c
        return mine

    def room_after(i):
        """How many of the parent's blocks must be finished before block i fits the ring."""
        first = i
        while first > 0 and sum(put[first - 1:i + 1]) <= ring:
            first -= 1
        return first

    while pos["P"] < blocks:
        ready = []
        for who in ("P", "W"):
            i = pos[who]
            if who == "W" and i >= blocks:
                continue
            if who == "W" and stage["W"] == "put" and len(freed_at) < room_after(i):
                continue                             # until the parent frees ring room
            if who == "P" and own > i and sent[i] is None \
                    and own >= min(i + 1 + own_ahead, blocks):
                continue                             # until the worker sends block i
            ready.append((clock[who], who))
        _, who = min(ready)
        i = pos[who]
        if who == "P":
            behind = sent[i] is None or sent[i] > clock["P"]
            if own == i or (behind and own < min(i + 1 + own_ahead, blocks)):
                render("P", own)
                own += 1
                continue
            if sent[i] > clock["P"]:
                wait["P"] += sent[i] - clock["P"]
                clock["P"] = sent[i]
            clock["P"] += mix[i]
            busy["P"] += mix[i]
            freed_at.append(clock["P"])
            pos["P"] += 1
        elif stage["W"] == "render":
            put[i] = sum(floats[k, i] for k in render("W", i))
            stage["W"] = "put"
        else:
            first = room_after(i)
            if first and freed_at[first - 1] > clock["W"]:
                wait["W"] += freed_at[first - 1] - clock["W"]
                clock["W"] = freed_at[first - 1]
            sent[i] = clock["W"]
            if trace and i % 5 == 0:
                print(f"    W sent {i:4d} at {clock['W']:6.2f}  P at block {pos['P']:4d}  "
                      f"lead {i - pos['P']:3d}")
            pos["W"] += 1
            stage["W"] = "render"
    return {"wall": clock["P"] + serial_end, "P busy": busy["P"], "W busy": busy["W"],
            "P wait": wait["P"], "W wait": wait["W"], "W end": clock["W"],
            "lanes": dict(collections.Counter(owner.values()))}


#: The rules before issue 19's `par` pass, with turns only, today's, and variations of today's.
GRID = [{"turns": False, "ahead": 2, "own_ahead": 0}, {"ahead": 2, "own_ahead": 0}, {},
        {"own_ahead": 2}, {"own_ahead": 8}, {"ahead": 0}, {"ahead": 2}, {"ring_blocks": 12},
        {"tail": 0}, {"tail": 8}]


def main() -> None:
    for path in sys.argv[1:]:
        with open(path) as f:
            rec = json.load(f)
        lanes = sum(x[2] for x in rec["lane"])
        total = lanes + sum(rec["mix"])
        print(f"{path}: lanes {lanes:.2f} s + mix {sum(rec['mix']):.2f} s = {total:.2f} s CPU; "
              f"half {total / 2:.2f} s")
        for kw in GRID:
            r = simulate(rec, **kw)
            print(f"  {str(kw):22s} wall {r['wall']:6.2f}  P busy {r['P busy']:5.2f} wait "
                  f"{r['P wait']:5.2f} | W busy {r['W busy']:5.2f} wait {r['W wait']:5.2f} "
                  f"end {r['W end']:6.2f} | lanes {r['lanes']}")


if __name__ == "__main__":
    main()
