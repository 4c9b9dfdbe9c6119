"""Every setting of our own, with its default: the one list code, `project.py` and README follow.

Data only. `settings/project.py` starts from these values and adds what the environment
says (DATA_DIR, DATABASE_URL, VNARCHIVE_CONTACT); components read them through
`crawler.config.setting`, which falls back to these defaults, so a component builds
even from bare Scrapy settings (`scrapy.utils.test.get_crawler({})`).
"""

from __future__ import annotations

DEFAULTS: dict[str, object] = {
    # where things live (project.py puts them under DATA_DIR)
    "WARC_DIR": "data/warc",
    "EXTRACT_TEXT_DIR": "data/text",
    "PENDING_REQUESTS_DIR": "data/pending",
    "DATABASE_URL": "sqlite:///data/archive.sqlite3",
    "PROFILES_DIR": "settings:sites",  # <package>:<folder>, or a folder on disk
    # archive
    "WARC_ENABLED": True,
    "WARC_MAX_SIZE": 1024 * 1024 * 1024,
    "WARC_PREFIX": "vnarchive",
    "ARCHIVE_PROCESS": True,
    "ARCHIVE_BACKLOG_BYTES": 32 * 1024 * 1024,
    "PENDING_IN_MEMORY": 2000,  # pending requests held in memory (about 2 MB); the rest on disk
    # warcinfo: who made the files, what they belong to, what they are ("": derived, see README)
    "WARC_OPERATOR": "",
    "WARC_IS_PART_OF": "",
    "WARC_DESCRIPTION": "",
    # refusing what cannot be archived or is not a page
    "CATALOGUE_MAX_URL_BYTES": 2000,
    "JSREDIRECT_ENABLED": True,
    # incremental crawls
    "RECRAWL_ENABLED": True,
    "RECRAWL_BACKOFF": 1800,
    "RECRAWL_GIVE_UP_AFTER": 5,
    "RUNLOCK_STALE_AFTER": 600,
    "RUNLOCK_HEARTBEAT": 60,
    "DISCOVERY_MAX_LISTING_PAGES": 0,
    "PHOTOS_ENABLED": None,  # None: the profile's `[photos] enabled`
    "SCHEDULE_CRAWLS": {},
    # a crawl job shared by several workers (crawler.frontier); "": one process per site
    "FRONTIER_URL": "",
    "FRONTIER_LEASE": 120,
    "FRONTIER_MAX_TRIES": 3,
    "FRONTIER_LEASE_BATCH": 8,
    "FRONTIER_NAMESPACE": "vnarchive",
    "POLITENESS_HOLD": 30,
    # extraction
    "EXTRACT_WORKERS": 0,
    "EXTRACT_MAX_BYTES": 16 * 1024 * 1024,
    "EXTRACT_TIMEOUT": 60,
    "EXTRACT_NICENESS": 10,
    "REEXTRACT_BATCH": 200,
    # shared reextract/warcimport jobs (FRONTIER_URL): seconds a dead process keeps a task
    "REDIS_TASK_LEASE": 120,
    # scrapy warcimport
    "IMPORT_MAX_RECORD_BYTES": 1024 * 1024 * 1024,
    "IMPORT_MAX_EXTRACTED_BYTES": 8 * 1024 * 1024 * 1024,
    "IMPORT_MAX_COMPRESSION_RATIO": 200,
}

# Names users may already script against (old name -> current name): both are read; the old
# name wins unless the current one was given with a higher priority (`-s` over a settings file).
RENAMED: dict[str, str] = {
    "TEXT_DIR": "EXTRACT_TEXT_DIR",
    "SITE_PROFILES_DIR": "PROFILES_DIR",
    "RUN_LOCK_STALE_AFTER": "RUNLOCK_STALE_AFTER",
    "RUN_LOCK_HEARTBEAT": "RUNLOCK_HEARTBEAT",
    "LISTING_MAX_PAGES": "DISCOVERY_MAX_LISTING_PAGES",
    "SCHEDULES": "SCHEDULE_CRAWLS",
}
