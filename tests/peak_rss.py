"""Run a command and measure the peak RSS of the largest of it and the processes under it
(Linux: `RUSAGE_CHILDREN` gives the largest waited-for descendant, not their sum)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# A fresh process, so no earlier test pollutes RUSAGE_CHILDREN. As a child subreaper it also
# reaps the descendants orphaned on the way (a forkserver, its workers): a process counts in
# its parent's RUSAGE_CHILDREN only once it is waited for.
_WRAPPER = """
import ctypes, os, resource, subprocess, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
code = subprocess.run(sys.argv[1:]).returncode
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
print(f"peak_rss_kib={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}", file=sys.stderr)
sys.exit(code)
"""


def run_measured(command: list[str], *, cwd: Path, env: dict[str, str],
                 timeout: float = 300) -> tuple[subprocess.CompletedProcess[str], int]:
    """The finished command (its stderr without the measure) and its peak RSS in KiB."""
    done = subprocess.run([sys.executable, "-c", _WRAPPER, *command], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    stderr, _, last = done.stderr.rstrip("\n").rpartition("\n")
    assert last.startswith("peak_rss_kib="), done.stderr
    done.stderr = stderr
    return done, int(last.removeprefix("peak_rss_kib="))
