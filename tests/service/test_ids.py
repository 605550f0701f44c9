"""Execution ids: version 7 UUIDs in their usual text form, carrying their time, never repeated."""

from __future__ import annotations

import os
import time
import uuid

from flux_edge.service.ids import new_execution_id


def test_execution_ids_are_version_7_uuids_in_their_usual_text_form():
    for _ in range(1000):  # several batches
        before = time.time_ns() // 1_000_000
        text = new_execution_id()
        after = time.time_ns() // 1_000_000
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert before <= parsed.int >> 80 <= after  # the Unix time in ms it was made


def test_later_ids_sort_later():
    first = new_execution_id()
    time.sleep(0.002)
    later = [new_execution_id() for _ in range(300)]  # the next batch of random parts, too
    assert all(first < other for other in later)
    assert len({text[19:] for text in later}) == len(later)  # the random parts differ


def test_execution_ids_do_not_repeat():
    ids = [new_execution_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)


def test_a_forked_child_does_not_hand_out_its_parents_next_ids():
    new_execution_id()  # a batch is drawn and mostly unused
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids and leave at once
        os.write(write, "\n".join(new_execution_id() for _ in range(10)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        child = set(pipe.read().split("\n"))
    parent = {new_execution_id() for _ in range(10)}
    assert len(child) == 10
    assert not child & parent
