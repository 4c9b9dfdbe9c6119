"""The report page: one HTML file holding its style and its charts, nothing to fetch.

Its Content-Security-Policy forbids every fetch and every script, so even a page title that
slipped through unescaped could neither run nor call out; everything from pages (titles,
URLs, sections, reasons) is escaped all the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from html import escape

from crawler.report.svg import Series, bar_chart, cut, ranked_bars
from storage.catalogue.history import RunFigures, Shown, SiteReport

__all__ = ["render", "size"]

POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'"
ARTICLES = (("new", "new", "#59a14f"), ("changed", "changed", "#f28e2b"),
            ("unchanged", "unchanged", "#bab0ac"), ("not_modified", "not modified", "#76b7b2"),
            ("gone", "gone", "#e15759"), ("failed", "failed", "#9c2f2f"))
STATUS_CLASSES = (("2xx", "#59a14f"), ("3xx", "#76b7b2"), ("4xx", "#f28e2b"), ("5xx", "#e15759"),
                  ("other", "#79706e"))
SECTIONS_SHOWN = 30
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; color: #222; margin: 24px auto; max-width: 1000px;
       padding: 0 12px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin: 28px 0 6px; }
h3 { font-size: 14px; margin: 16px 0 4px; }
.meta, .note { color: #666; } .none { color: #888; font-style: italic; }
svg.chart { display: block; width: 100%; height: auto; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: -1px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 3px 8px 3px 0; border-bottom: 1px solid #eee; vertical-align: top; }
td.n, th.n { text-align: right; } td.url { word-break: break-all; }
"""


def render(report: SiteReport, *, generated_at: datetime, catalogue: str) -> str:
    """The whole page, as a string (a report is small: its lists and charts are capped)."""
    runs = report.runs
    shown = (f"the last {len(runs)} of {report.total_runs} runs" if report.total_runs > len(runs)
             else f"all {len(runs)} runs")
    body = [
        f"<h1>Crawl report: {escape(report.site)}</h1>",
        f'<p class="meta">Generated {generated_at:%Y-%m-%d %H:%M} UTC from {escape(catalogue)}. '
        f"Run charts show {shown} of the site, oldest first.</p>",
        _last_run(runs[-1] if runs else None),
        _section("articles-per-run", "Articles per run", _articles_per_run(runs),
                 "What each run did to the site's articles (crawl_runs counts; failed: fetch or "
                 "extraction failures)."),
        _section("requests-per-run", "Responses per run, by HTTP status class",
                 _statuses_per_run(runs), "Every archived exchange (captures), robots.txt, sitemaps "
                 "and listing pages included; a 304 is archived as a revisit."),
        _section("bytes-per-run", "Bytes archived per run", _one_series(
            runs, "WARC bytes", "#4e79a7", [r.warc_bytes for r in runs], size), None),
        _section("duration-per-run", "Duration per run", _one_series(
            runs, "duration", "#af7aa1", [r.elapsed or 0 for r in runs], _seconds), None),
        _section("extraction-failures", "Extraction failures by reason (all runs)",
                 _ranked(report.failures_by_reason.items(), "extraction failures", "#e15759"), None),
        _section("sections", "Articles per section", _sections(report.sections),
                 "Each article counted once, by its newest extracted version's section."),
        _section("days", "Articles per day of publication", _days(report),
                 f"Each article counted once, on the day its newest version says it was published "
                 f"(in the site's time zone), {len(report.days)} days up to the latest (at most a "
                 f"year); {report.undated:,} articles state no publication date."),
        _problems(report),
    ]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Crawl report: {escape(report.site)}</title><style>{STYLE}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")


def _section(anchor: str, title: str, content: str, note: str | None) -> str:
    note_html = f'<p class="note">{escape(note)}</p>' if note else ""
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{note_html}{content}</section>'


def _none(what: str) -> str:
    return f'<p class="none">{escape(what)}</p>'


def _legend(entries: Iterable[tuple[str, str]]) -> str:
    keys = "".join(f'<span><i style="background:{colour}"></i>{escape(name)}</span>'
                   for name, colour in entries)
    return f'<p class="legend">{keys}</p>'


def _run_label(run: RunFigures) -> str:
    return f"#{run.id} {run.started_at:%Y-%m-%d}"


def _articles_per_run(runs: Sequence[RunFigures]) -> str:
    counted = [r for r in runs if any(v is not None for v in r.articles.values())]
    if not counted:
        return _none("No run has ended yet.")
    series = [Series(label, colour, [r.articles[name] or 0 for r in counted])
              for name, label, colour in ARTICLES]
    return _legend((s.name, s.colour) for s in series) + bar_chart(
        [_run_label(r) for r in counted], series, label="articles per run")


def _statuses_per_run(runs: Sequence[RunFigures]) -> str:
    if not any(r.captures for r in runs):
        return _none("No run archived anything yet.")
    classes = [r.status_classes for r in runs]
    series = [Series(name, colour, [c.get(name, 0) for c in classes]) for name, colour in STATUS_CLASSES
              if any(name in c for c in classes)]
    return _legend((s.name, s.colour) for s in series) + bar_chart(
        [_run_label(r) for r in runs], series, label="responses per run by status class")


def _one_series(runs: Sequence[RunFigures], name: str, colour: str, values: list[float],
                unit: Callable[[float], str]) -> str:
    if not any(values):
        return _none("Nothing to show yet.")
    return bar_chart([_run_label(r) for r in runs], [Series(name, colour, values)],
                     label=f"{name} per run", unit=unit)


def _ranked(rows: Iterable[tuple[str, int]], label: str, colour: str = "#4e79a7") -> str:
    listed = list(rows)
    if not listed:
        return _none(f"No {label}.")
    return ranked_bars(listed, label=label, colour=colour)


def _sections(sections: dict[str | None, int]) -> str:
    rows = [(name if name is not None else "(no section stated)", n) for name, n in sections.items()]
    if len(rows) > SECTIONS_SHOWN:
        rest = rows[SECTIONS_SHOWN - 1:]
        rows = rows[:SECTIONS_SHOWN - 1] + [(f"({len(rest)} other sections)", sum(n for _, n in rest))]
    return _ranked(rows, "articles")


def _days(report: SiteReport) -> str:
    if not report.days:
        return _none("No article states its publication date.")
    return bar_chart([f"{day:%Y-%m-%d}" for day in report.days],
                     [Series("articles", "#4e79a7", list(report.days.values()))],
                     label="articles per day of publication")


def _last_run(run: RunFigures | None) -> str:
    if run is None:
        return _section("last-run", "Last run", _none("This site has no crawl run."), None)
    speed = "unknown"
    if run.elapsed is not None:
        speed = _seconds(run.elapsed)
        rates = run.rates()
        speed += f" ({', '.join(rates)})" if rates else ""
    articles = run.articles_counted() or "not counted (the run has not ended)"
    rows = [("run", f"#{run.id} ({run.spider}, {run.status})"),
            ("started", f"{run.started_at:%Y-%m-%d %H:%M:%S} UTC"), ("duration", speed),
            ("articles", articles),
            ("responses archived", f"{run.captures:,} (" + ", ".join(
                f"{name}: {n:,}" for name, n in sorted(run.status_classes.items())) + ")"),
            ("WARC bytes", size(run.warc_bytes)), ("bot challenges", f"{run.blocked:,}")]
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return _section("last-run", "Last run", f"<table>{table}</table>", None)


def _problems(report: SiteReport) -> str:
    problems = report.problems
    if problems is None:
        return ""
    counts = ", ".join(f"{reason}{' (given up)' if up else ''}: {n:,}"
                       for (reason, up), n in sorted(problems.failing_by_reason.items()))
    parts = [
        "<h3>URLs failing</h3>",
        f'<p class="note">The site\'s URLs whose last fetch failed (frontier table): '
        f'{escape(counts or "none")}.</p>',
        _table(problems.failing, ("URL", "reason", "tries", "next try / given up"), _failing_row),
        "<h3>Bot challenges</h3>",
        _table(problems.blocked, ("URL", "status", "marker", "fetched (UTC)"), _blocked_row),
        "<h3>Extraction failures</h3>",
        _table(problems.extraction_failures, ("URL", "reason", "detail"), _failure_row),
    ]
    return _section("problems", "Problems of the last run", "".join(parts), None)


def _failing_row(url: str, reason: str | None, attempts: int, retry_at: datetime | None,
                 gave_up_at: datetime | None) -> list[str]:
    when = f"given up {gave_up_at:%Y-%m-%d %H:%M}" if gave_up_at else \
        f"after {retry_at:%Y-%m-%d %H:%M}" if retry_at else "due"
    return [_link(url), _cell(reason or ""), f'<td class="n">{attempts}</td>', _cell(when)]


def _blocked_row(url: str, status: int, marker: str | None, fetched_at: datetime) -> list[str]:
    return [_link(url), _cell(str(status)), _cell(marker or ""), _cell(f"{fetched_at:%Y-%m-%d %H:%M:%S}")]


def _failure_row(url: str, reason: str, detail: str) -> list[str]:
    return [_link(url), _cell(reason), _cell(cut(detail, 300))]


def _cell(text: str) -> str:
    return f"<td>{escape(text)}</td>"


def _table(shown: Shown, headers: Sequence[str], row_cells: Callable[..., list[str]]) -> str:
    if not shown.rows:
        return _none("None.")
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    rows = "".join("<tr>" + "".join(row_cells(*row)) + "</tr>" for row in shown.rows)
    hidden = shown.total - len(shown.rows)
    more = f'<p class="note">... and {hidden:,} more.</p>' if hidden > 0 else ""
    return f"<table><tr>{head}</tr>{rows}</table>{more}"


def _link(url: str) -> str:
    """A link only for http(s) URLs: a `javascript:` URL from a page stays text."""
    text = escape(cut(url, 200))
    if url.lower().startswith(("http://", "https://")):
        return f'<td class="url"><a href="{escape(url)}" rel="noreferrer">{text}</a></td>'
    return f'<td class="url">{text}</td>'


def size(count: float) -> str:
    if count < 1024:
        return f"{count:,.0f} bytes"
    for unit in ("KiB", "MiB"):
        count /= 1024
        if count < 1024:
            return f"{count:,.1f} {unit}"
    return f"{count / 1024:,.1f} GiB"


def _seconds(value: float) -> str:
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min" if value < 7200 else f"{value / 3600:.1f} h"
