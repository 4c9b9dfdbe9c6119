"""What an HTTP status says of a fetch: final, or worth trying again.

Apart from crawler.fetchfailures (which reads Scrapy's and Twisted's errors) so that the archive
process decides what is done without importing Scrapy.
"""

from __future__ import annotations

__all__ = ["final_answer", "final_for_a_photo", "temporary_failure"]


def final_answer(status: int) -> bool:
    """A redirect, a 304, a 4xx other than 429: archived as it is, nothing to parse or retry."""
    return 300 <= status < 500 and status != 429


def final_for_a_photo(status: int) -> bool:
    """A redirect or a 304; a 4xx is a failure, which backs off (a page's 404 says the page is
    gone; an image's may be one not yet on its host)."""
    return 300 <= status < 400


def temporary_failure(status: int) -> bool:
    """A 5xx or a 429: the server may answer later."""
    return status >= 500 or status == 429
