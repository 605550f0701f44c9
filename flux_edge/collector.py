"""The garbage collector's policy in a serving process (the server's workers and the zygote).

A server's heap is mostly what its start loaded (modules, the app, its routes), and a full
collection walks all of it: 55-65 ms with the event loop stopped, several times a minute under
load. That pause was a loaded server's p99 (docs/performance.md). Once the server is up,
`freeze_start_heap` moves what exists to the collector's permanent generation, so a full
collection walks only what calls made since (under 1 ms). Only serving processes do this: a
process that embeds the app (the tests) keeps the collector as Python sets it.

Young collections are made rarer too (every 700 -> 7,000 net allocations): at the default, a
loaded server collected every ~20 requests, 4-5 % of its CPU, objects that die young anyway.

And while `flux-edge serve` starts (imports, building the app) nothing is collected: importing
the server made ~110 collections, ~38 ms of its start, for a heap that is kept whole anyway; it is
frozen when collections resume, and what the HTTP API's build and the deferred imports add is
frozen once they are done.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 7_000


def hold_during_start() -> None:
    """No collections until `tune_for_serving` (or `resume`): the process is starting."""
    gc.disable()


def resume() -> None:
    """Collections as Python makes them (a process that held them and will not serve)."""
    gc.enable()


def tune_for_serving() -> None:
    """Collections on again, young ones rarer (the older generations keep their thresholds).

    What the held start made is frozen first: every object of it is still in the young
    generation, and the first collection would walk all of it (~50,000 objects, 5-9 ms of the
    start) for a heap that is kept whole anyway.
    """
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    gc.freeze()
    gc.enable()


def freeze_start_heap() -> None:
    """Keep everything alive now out of every later collection (and out of copy-on-write in a
    process forked afterwards: a collection there no longer writes to these objects' headers)."""
    gc.freeze()
