"""What one page of a shared crawl job costs the shared services: Redis commands (and the
Lua scripts among them) and PostgreSQL rows written and bytes stored, per page fetched.

Crawls the sample site on loopback with `--workers` worker processes sharing one job, against
a Redis server of its own (started here on a free port, so that no other client's commands are
counted) and a fresh schema of the machine's PostgreSQL (database `test`).

    .venv/bin/python -m benchmarks.shared_costs [--articles 300] [--workers 2]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis
from sqlalchemy import create_engine, text

from tests.conftest import fresh_postgres_schema
from tests.crawl import PROJECT, crawl_command
from tests.sample_site import SampleSite, serve


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def own_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", str(folder)],
                              stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.StrictRedis.from_url(url)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            return server, url
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="shared-costs-"))
    server, redis_url = own_redis(folder)
    site = SampleSite(n_articles=options.articles)
    try:
        with serve(site) as origin, fresh_postgres_schema() as database_url:
            workers = []
            for _ in range(options.workers):
                command, env = crawl_command(origin, folder / "data", database_url)
                env["FRONTIER_URL"] = redis_url
                workers.append(subprocess.Popen(command, cwd=PROJECT, env=env,
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            assert all(worker.wait(timeout=1800) == 0 for worker in workers), "a worker failed"
            commands = redis.StrictRedis.from_url(redis_url).info("commandstats")
            engine = create_engine(database_url)
            with engine.connect() as connection:
                schema = connection.scalar(text("select current_schema()"))
                tables = connection.execute(text(
                    "select relname, n_tup_ins, n_tup_upd, "
                    "pg_total_relation_size(relid) from pg_stat_user_tables "
                    "where schemaname = :schema"), {"schema": schema}).all()
                pages = connection.scalar(text("select count(*) from captures"))
            engine.dispose()
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(folder, ignore_errors=True)
    calls = {name.removeprefix("cmdstat_"): stats["calls"] for name, stats in commands.items()}
    print(f"Shared crawl job of {options.articles} articles by {options.workers} workers: "
          f"{pages} pages fetched")
    print(f"  Redis: {sum(calls.values()) / pages:.2f} commands per page "
          f"({', '.join(f'{n} {c / pages:.2f}' for n, c in sorted(calls.items(), key=lambda x: -x[1]))})")
    written = sum(ins + upd for _, ins, upd, _ in tables)
    stored = sum(size for *_, size in tables)
    print(f"  PostgreSQL: {written / pages:.1f} rows inserted or updated per page, "
          f"{stored / pages / 1024:.1f} KiB stored per page (tables and indexes)")
    for name, ins, upd, size in sorted(tables, key=lambda row: -row[3]):
        print(f"    {name:<22} {ins / pages:6.2f} inserted {upd / pages:6.2f} updated per page, "
              f"{size / pages:8.0f} bytes per page")


if __name__ == "__main__":
    main()
