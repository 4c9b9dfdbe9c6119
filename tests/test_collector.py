"""The crawl process's collector settings: start-up frozen, cycles still collected.

Run in a process of its own: freezing is for the whole interpreter, the test's included."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.crawl import PROJECT

SCRIPT = textwrap.dedent("""
    import gc, weakref
    from types import SimpleNamespace
    from crawler import collector

    class Stats:
        values = {}
        def set_value(self, key, value):
            self.values[key] = value

    before = len(gc.get_objects())
    spider = SimpleNamespace(crawler=SimpleNamespace(stats=Stats()))
    collector.crawl_started(spider)
    frozen = Stats.values["gc/frozen_at_start"]
    assert frozen == gc.get_freeze_count() >= before > 1000, (frozen, before)
    assert gc.get_threshold()[0] == collector.YOUNG_THRESHOLD

    class Node:
        pass
    node = Node()
    node.itself = node  # a cycle made after start-up
    alive = weakref.ref(node)
    del node
    gc.collect()
    assert alive() is None, "a cycle made during the crawl was never collected"
    print("ok")
""")


def test_startup_objects_are_frozen_and_later_cycles_still_collected() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=PROJECT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
