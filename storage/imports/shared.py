"""`scrapy warcimport` shared by several processes (FRONTIER_URL): one file is one task.

Why a file: each file is imported in one transaction with its `imported_files` row, so a
task is acknowledged only once that commit is done, and a process killed before it left
nothing (the transaction rolled back; the copies it made are named by content and made
again). Revisits whose original lies in another file are linked once every file of the
job is in, by each process for the files it imported, as one process does after its last.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from storage.imports.importer import Importer, expand
from storage.imports.reports import FileReport
from storage.redisqueue.leases import POLL, LeaseRenewer, SharedTasks

__all__ = ["import_shared"]


def import_shared(importer: Importer, paths: Sequence[Path], tasks: SharedTasks) -> list[FileReport]:
    """This process's share of the job: join it (filling it with the files of `paths` if
    first), import files until every one is acknowledged; the reports of the files it imported."""

    def payloads() -> Iterator[bytes]:
        return (json.dumps([str(path.absolute()), named]).encode() for path, named in expand(paths))

    tasks.join(payloads)
    renewer = LeaseRenewer(tasks, tasks.lease_ms / 3000)
    reports: list[FileReport] = []
    try:
        while True:
            leased = tasks.lease()
            if leased is None:
                if tasks.state().finished:
                    break
                time.sleep(POLL)  # the rest is held by others: wait for their acks or a lapse
                continue
            renewer.hold(leased.index)
            path, named = json.loads(leased.payload)
            reports.append(importer.import_file(Path(path), named))
            tasks.ack(leased.index)
            renewer.release(leased.index)
    finally:
        renewer.close()
    importer.resolve_across(reports)
    return reports
