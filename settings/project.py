"""Scrapy settings for the archive: the module that `scrapy.cfg` names.

Every setting of our own has its default in `settings/defaults.py` (what components fall
back to) and here; README's settings table lists them all. The one place that reads the
environment:
    DATA_DIR      where warc/, text/ and the default SQLite catalogue live (default ./data)
    DATABASE_URL  any SQLAlchemy URL for the catalogue (default sqlite:///$DATA_DIR/archive.sqlite3)
    VNARCHIVE_CONTACT  a URL or e-mail that site operators can reach you at (goes into the User-Agent)
    FRONTIER_URL  redis://host:port/db: every crawl of a site joins one job shared through it
Every setting can still be overridden per run with `scrapy crawl ... -s NAME=VALUE`.
Site politeness (delay, concurrency, AutoThrottle) comes from the site's profile and
is overridden the same way.
"""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from scrapy.settings.default_settings import EXTENSIONS_BASE as _scrapy_extensions

try:
    VERSION = version("vnarchive")
except PackageNotFoundError:  # running from a checkout that was not installed
    VERSION = "0.0.0"

BOT_NAME = "vnarchive"

# ---- where things live ----------------------------------------------------------------
DATA_DIR = Path(os.environ.get("DATA_DIR", "data")).resolve()
WARC_DIR = str(DATA_DIR / "warc")
EXTRACT_TEXT_DIR = str(DATA_DIR / "text")
PENDING_REQUESTS_DIR = str(DATA_DIR / "pending")
# The first pending requests wait in memory, the rest on disk under PENDING_REQUESTS_DIR.
PENDING_IN_MEMORY = 2000
SCHEDULER_DISK_QUEUE = "crawler.frontier.spilling.RequestDiskQueue"
SCHEDULER_START_DISK_QUEUE = "crawler.frontier.spilling.StartRequestDiskQueue"
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'archive.sqlite3'}"

# ---- spiders: one per site profile ------------------------------------------------------
PROFILES_DIR = "settings:sites"  # or a folder on disk: see crawler.profiles
SPIDER_LOADER_CLASS = "crawler.spiderloader.ProfileSpiderLoader"
COMMANDS_MODULE = "crawler.commands"

# ---- politeness --------------------------------------------------------------------------
CONTACT = os.environ.get("VNARCHIVE_CONTACT", "https://pypi.org/project/vnarchive/")
USER_AGENT = f"vnarchive/{VERSION} (news archive crawler; +{CONTACT})"
ROBOTSTXT_OBEY = True
# Profile values override these; -s on the command line overrides the profile.
DOWNLOAD_DELAY = 1.0
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
DOWNLOAD_TIMEOUT = 60
# Hard cap on one download; pages over EXTRACT_MAX_BYTES are archived but not extracted.
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024
TELNETCONSOLE_ENABLED = False
STATS_CLASS = "crawler.stats.CrawlStats"
# No listening port on an unattended crawler (Scrapy 2.19 starts a code-executing one by default).
REMOTE_CONTROL_ENABLED = False
# Only encodings every WARC reader decodes: warcio (and so pywb) cannot read brotli
# bodies with the maintained Brotli package, so `br` is never asked for.
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "vi,en;q=0.8",
    "Accept-Encoding": "gzip, deflate",
}
COOKIES_ENABLED = False
# Refuse what the catalogue cannot hold and, in a mirror crawl (-a origin=...), any other host.
# Follow pages whose only content is a script redirect, as meta refreshes are followed.
# Wait while the archive is behind (ARCHIVE_BACKLOG_BYTES).
# robots.txt is Scrapy's middleware, which in a shared job (FRONTIER_URL) fetches it once for the job.
DOWNLOADER_MIDDLEWARES = {"crawler.middlewares.urlguard.UrlGuardMiddleware": 40,
                          "crawler.middlewares.backpressure.ArchiveBackpressure": 50,
                          "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
                          "crawler.politeness.robots.SharedRobotsTxtMiddleware": 100,
                          "crawler.middlewares.jsredirect.JsRedirectMiddleware": 575}
# Scrapy's HTTP handler, which in a shared job first takes the host's turn in the job's budget
# (DOWNLOAD_DELAY and CONCURRENT_REQUESTS_PER_DOMAIN hold for all its workers together).
DOWNLOAD_HANDLERS = {"http": "crawler.politeness.handler.SharedPolitenessHandler",
                     "https": "crawler.politeness.handler.SharedPolitenessHandler"}
JSREDIRECT_ENABLED = True
# What to fetch again is decided from the catalogue, next to the spider (see RECRAWL_ENABLED).
SPIDER_MIDDLEWARES = {"crawler.middlewares.recrawl.RecrawlMiddleware": 950}
# Outputs of one response handled at once: a page yields one item, and Scrapy starts this many
# tasks for every response (100 by default, a tenth of the crawl process's time).
CONCURRENT_ITEMS = 1
# URLs longer than this (bytes; or than Scrapy's URLLENGTH_LIMIT) are never followed.
CATALOGUE_MAX_URL_BYTES = 2000

# ---- archive -------------------------------------------------------------------------------
# The run's row, lock and start-up repair first (a locked site is never fetched), then the archive.
EXTENSIONS = {"crawler.extensions.runlock.RunLifecycle": 90, "crawler.extensions.warc.WarcExporter": 100}
# Off, and left out of Scrapy's own list: Scrapy imports every extension a setting names,
# even one set to None (to tell two names of one class apart), and the remote control's
# aiohttp alone took 0.15 s of every start. To turn one on, add it to EXTENSIONS.
_off = ("scrapy.extensions.telnet.TelnetConsole", "scrapy.extensions.remote_control.RemoteControl")
EXTENSIONS_BASE = {path: order for path, order in _scrapy_extensions.items() if path not in _off}
# False: crawl without archiving (and so without extracting: set ITEM_PIPELINES={} too).
WARC_ENABLED = True
# WARC files are closed and a new one begun once a file reaches this size (bytes).
WARC_MAX_SIZE = 1024 * 1024 * 1024
# File name prefix; each process adds its own timestamp, host name and pid.
WARC_PREFIX = BOT_NAME
# WARC files, catalogue rows and text files are written by a process of the crawl's own, off the
# reactor's GIL (False: by a thread of the crawl process).
ARCHIVE_PROCESS = True
# Bytes of pages fetched and not yet archived; past this, downloads wait for the archive.
ARCHIVE_BACKLOG_BYTES = 32 * 1024 * 1024
# Each file's warcinfo: who ran the crawl, the collection or job its files belong to ("": the
# site), what they hold ("": "Crawl of <profile title> (<origin>) ...").
WARC_OPERATOR = os.environ.get("VNARCHIVE_OPERATOR", CONTACT)
WARC_IS_PART_OF = ""
WARC_DESCRIPTION = ""

# ---- incremental crawls ------------------------------------------------------------------
# False: fetch everything whole, as a first run does (the archive still stores revisits).
RECRAWL_ENABLED = True
# A run's lock is stale when its heartbeat is older than this (seconds), or at once when
# the run was on this host and its process is gone.
RUNLOCK_STALE_AFTER = 600
# A URL whose fetch failed (5xx, timeout, bot challenge) is tried again after this many
# seconds, four times longer after each further failure (at most two days), and given up
# (recorded, never fetched again unless its sitemap says it changed) after this many failures.
RECRAWL_BACKOFF = 1800
RECRAWL_GIVE_UP_AFTER = 5
RUNLOCK_HEARTBEAT = 60
# `scrapy schedule`: site -> cron expression (UTC), or {"cron": ..., "args": {...}, "settings": {...}}
SCHEDULE_CRAWLS = {"vov": "17 * * * *"}
# Archive the article's own photos: None follows each profile's `[photos] enabled`;
# True or False decides for this run (`-s PHOTOS_ENABLED=False`).
PHOTOS_ENABLED = None

# ---- a crawl job shared by several workers (crawler.frontier) -------------------------------
# With a Redis URL, every `scrapy crawl <site>` with the same DATABASE_URL joins the site's running
# job: one queue, one seen-set, requests leased to one worker at a time. "": one process per site.
FRONTIER_URL = os.environ.get("FRONTIER_URL", "")
# Seconds a worker may hold a request without renewing its lease (it renews every quarter of
# this while it lives); a dead worker's requests go back to the queue once it passes.
FRONTIER_LEASE = 120
# A request whose lease expired this many times is set aside for the job (logged, counted; the
# catalogue keeps it pending for the next run).
FRONTIER_MAX_TRIES = 3
# Requests a worker leases at a time.
FRONTIER_LEASE_BATCH = 8
# The prefix of the job's keys: archives (catalogues) sharing one Redis server need one each.
FRONTIER_NAMESPACE = "vnarchive"
# Seconds a dead worker's concurrency token (and its claim on a robots.txt it was fetching for
# the job) outlives it: a live worker renews them every third of this. Each host's budget is
# kept under "<FRONTIER_NAMESPACE>:polite:<host>:", whatever the site or job.
POLITENESS_HOLD = 30
# Scrapy's own scheduler without FRONTIER_URL.
SCHEDULER = "crawler.frontier.scheduler.FrontierScheduler"

# ---- extraction ----------------------------------------------------------------------------
ITEM_PIPELINES = {"crawler.pipelines.ExtractPipeline": 300}
# Listing pages read per category at most (0: the profile's max_category_pages).
DISCOVERY_MAX_LISTING_PAGES = 0
# Worker processes for extraction (0 = one per core).
EXTRACT_WORKERS = 0
# A memory guard: pages whose decoded body is larger are archived but not extracted (scripts and
# inline JSON are cut out before parsing and cost an article nothing).
EXTRACT_MAX_BYTES = 16 * 1024 * 1024
# Seconds one page may take in an extraction worker before the worker is killed; the page is
# retried once alone, then recorded as `timeout` (0 = no limit).
EXTRACT_TIMEOUT = 60
# Extraction workers run this much nicer than the crawl (os.nice): the reactor, which every page
# waits on, gets a core when it needs one, and the workers take what it leaves (0: as the crawl).
EXTRACT_NICENESS = 10
# `scrapy reextract`: captures filed per transaction (and, in a shared job, per task).
REEXTRACT_BATCH = 200

# ---- work shared through Redis ---------------------------------------------------------------
# FRONTIER_URL (above) also makes `scrapy reextract` and `scrapy warcimport` processes share one job.
# Seconds a process holds a shared task without renewing it: a dead process's tasks are
# taken by another after at most this long.
REDIS_TASK_LEASE = 120

# ---- scrapy warcimport ---------------------------------------------------------------------
# A record whose block is larger is skipped (reported as too_large); larger ones are streamed.
IMPORT_MAX_RECORD_BYTES = 1024 * 1024 * 1024
# A compressed WACZ entry that would extract to more is not extracted (too_large).
IMPORT_MAX_EXTRACTED_BYTES = 8 * 1024 * 1024 * 1024
# Past 8 MiB, a gzip member or zip entry inflating more than this many times its compressed
# size is a decompression bomb: skipped, never read to its end (real archives stay under 20).
IMPORT_MAX_COMPRESSION_RATIO = 200

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
