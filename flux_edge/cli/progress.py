"""Progress for long commands, shown on a terminal's stderr only.

stdout carries a command's output (tables, `--json`), so progress never goes there; and when
stderr is a pipe or a file (scripts, CI logs) nothing is shown at all, so logs stay clean. A
progress line is redrawn in place with a carriage return and erased before the result prints.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final

ERASE_LINE: Final = "\r\x1b[K"
TICK_SECONDS: Final = 0.25


def on_terminal() -> bool:
    """Whether progress is shown: stderr is a terminal."""
    return sys.stderr.isatty()


def note(line: str) -> None:
    """One progress line that stays (a stage started), on a terminal only."""
    if on_terminal():
        print(line, file=sys.stderr, flush=True)


def page_progress(label: str) -> Callable[[int, int], None]:
    """A callback showing `label: N% of T pages` in place; does nothing off a terminal."""
    if not on_terminal():
        return lambda done, total: None

    def show(done: int, total: int) -> None:
        percent = 100 if total == 0 else done * 100 // total
        end = "\n" if done >= total else ""
        sys.stderr.write(f"{ERASE_LINE}{label}: {percent}% of {total} pages{end}")
        sys.stderr.flush()

    return show


@contextmanager
def steps(label: str) -> Iterator[Callable[[str], None]]:
    """A callback showing `label: STEP` in place as each step starts; the line is erased at the
    end (the command's own result lines follow). Does nothing off a terminal."""
    if not on_terminal():
        yield lambda step: None
        return

    def show(step: str) -> None:
        sys.stderr.write(f"{ERASE_LINE}{label}: {step}")
        sys.stderr.flush()

    try:
        yield show
    finally:
        sys.stderr.write(ERASE_LINE)
        sys.stderr.flush()


@contextmanager
def waiting(label: str) -> Iterator[None]:
    """Show `label... Ns` with a running clock while the block runs (a request the server
    answers when it is done); the line is erased at the end, so what follows starts clean."""
    if not on_terminal():
        yield
        return
    stop = threading.Event()
    started = time.monotonic()

    def tick() -> None:
        while True:
            sys.stderr.write(f"{ERASE_LINE}{label}... {time.monotonic() - started:.0f}s")
            sys.stderr.flush()
            if stop.wait(TICK_SECONDS):
                return

    clock = threading.Thread(target=tick, name="progress", daemon=True)
    clock.start()
    try:
        yield
    finally:
        stop.set()
        clock.join()
        sys.stderr.write(ERASE_LINE)
        sys.stderr.flush()
