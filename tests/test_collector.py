"""The collector settings of the crawl process and of its archive process: start-up frozen,
cycles still collected.

Run in processes of their own: freezing is for the whole interpreter, the test's included."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crawler.collector import YOUNG_THRESHOLD
from tests.crawl import PROJECT, crawl

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



# Loaded by every interpreter given the folder on PYTHONPATH; in the archive process only, it
# notes the objects frozen by the first gc.freeze (start-up's; the process freezes again as
# it exits), and writes them down with the young generation's threshold as it exits.
REPORTS_ARCHIVE_COLLECTOR = """import sys
if "crawler.archiveprocess" in " ".join(sys.orig_argv):
    import atexit, gc, os
    first_freeze = []
    freeze = gc.freeze
    def noting_freeze():
        freeze()
        if not first_freeze:
            first_freeze.append(gc.get_freeze_count())
    gc.freeze = noting_freeze
    def report():
        with open(os.environ["COLLECTOR_REPORT"], "w") as out:
            out.write(f"{first_freeze[0] if first_freeze else 0} {gc.get_threshold()[0]}")
    atexit.register(report)
"""


@pytest.mark.slow
def test_the_archive_process_freezes_its_start_up_too(
        base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "path").mkdir()
    (tmp_path / "path" / "sitecustomize.py").write_text(REPORTS_ARCHIVE_COLLECTOR)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "path"))
    monkeypatch.setenv("COLLECTOR_REPORT", str(tmp_path / "report"))
    result = crawl(base_url, tmp_path / "data")
    assert result.returncode == 0, result.log[-3000:]
    frozen, young = map(int, (tmp_path / "report").read_text().split())
    assert frozen > 10_000  # SQLAlchemy's modules and the catalogue's models, never walked again
    assert young == YOUNG_THRESHOLD
