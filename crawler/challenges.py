"""Bot challenges and interstitials: answers that are not the page they name.

Why: a site behind a bot wall (vov.vn's `_jsc_ch_conf` JavaScript challenge, Cloudflare's
"Just a moment..." page) answers HTTP 200 (or 403/503) with a small page of its own. Taken
for the article it would be extracted into a junk text, and taken for the URL's capture it
would make the next run think the page is archived. Such a response is archived (it is
what the server sent) but catalogued as blocked (`captures.blocked`), never extracted,
never the URL's capture for recrawl decisions, and its URL is tried again by a later run.

The markers live in the profile (`[blocking] markers`), with this generic default list.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.warc.decoding import DecodeError, decode_body

# Strings only a challenge or interstitial page carries (compared lower-cased). Not what
# also rides on ordinary pages: Cloudflare injects /cdn-cgi/challenge-platform/ scripts into
# normal pages, and a firewall vendor's name can be in an article's text.
DEFAULT_MARKERS = (
    "_jsc_ch_conf", "/_jsc_sbu/", "wss-captcha",
    "verify the security of the connection and browser environment",
    "cf-browser-verification", "cf_chl_opt", "<title>just a moment...</title>",
    "<title>attention required! | cloudflare</title>",
)
# The statuses a challenge comes with: a page (200), or a refusal (403, 429, 503).
CHALLENGE_STATUSES = frozenset({200, 403, 429, 503})
# Challenge pages are small; a larger body is a page, whatever it mentions.
MAX_CHALLENGE_BYTES = 128 * 1024


@dataclass(frozen=True)
class Blocking:
    """A profile's `[blocking]` section."""

    markers: tuple[str, ...] = DEFAULT_MARKERS
    # Stop the run when at least `stop_after` responses were challenges and they are more
    # than `stop_ratio` of the responses seen: the site is blocking this crawler.
    stop_after: int = 10
    stop_ratio: float = 0.5

    def marker_in(self, body: bytes, status: int = 200) -> str | None:
        """The first marker found in a (decoded) body small enough to be a challenge."""
        if status not in CHALLENGE_STATUSES or not body or len(body) > MAX_CHALLENGE_BYTES:
            return None
        text = body.lower()
        return next((m for m in self.markers if m.lower().encode() in text), None)

    def marker_in_sent(self, body: bytes, content_encoding: str | None,
                       status: int = 200) -> str | None:
        """The same, for a body as the server sent it: decoding stops as soon as the body
        is too large to be a challenge, so a large page costs little and a bomb nothing."""
        if status not in CHALLENGE_STATUSES:
            return None
        try:
            decoded = decode_body(body, content_encoding=content_encoding,
                                  limit=MAX_CHALLENGE_BYTES)
        except DecodeError:  # too large (TooLarge is one), corrupt, or an unknown coding
            return None
        return self.marker_in(decoded)


class ChallengeCounter:
    """Counts challenges among the responses of a run, to stop one the site is blocking."""

    def __init__(self, blocking: Blocking):
        self.blocking = blocking
        self.responses = 0
        self.challenges = 0

    def saw(self, challenged: bool) -> bool:
        """Count a response; True once the run should stop."""
        self.responses += 1
        self.challenges += challenged
        return challenged and self.challenges >= self.blocking.stop_after and \
            self.challenges > self.blocking.stop_ratio * self.responses
