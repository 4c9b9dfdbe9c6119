"""Benchmark: extraction quality against gold text, our extractor beside plain trafilatura.

    .venv/bin/python -m benchmarks.extraction_quality [--sets sample,zyte,trafilatura-eval]
        [--per-page] [--variants] [--dump DIR] [--articles 30]

Three gold sets, each scored for our extractor and for plain `trafilatura.extract(html)` with
its default settings, in the same run:

  sample  our VOV-style sample site (tests.sample_site): every gold article's page rendered
          in process (no HTTP), with its real bytes and Content-Type (one page is
          windows-1258), extracted with the `vov` profile's hints.
  zyte    the Zyte article-extraction benchmark (../shared/data/extraction/
          zyte-article-extraction-benchmark): 181 real pages from many sites, extracted with
          generic hints (`ExtractHints()`): no site knowledge.
  trafilatura-eval
          trafilatura's own evaluation corpus (../shared/data/extraction/trafilatura-eval):
          945 real pages in many languages, judged by snippets rather than gold text (see
          below); generic hints, and no Content-Type: both extractors get the raw bytes and
          decode them themselves.
A set whose folder is absent is skipped, with a message on stderr; `--sets` picks sets.

What is compared: the text after the title line, paragraph by paragraph. On the sample site
that is the lead ("VOV.VN - ...") and the body, because the lead is part of the article and
of our text files (plain trafilatura drops it, and loses recall for it). The Zyte gold
`articleBody` is the body only and has no titles; with generic hints we take no lead, so our
paragraphs after the title are scored as they are (a standfirst trafilatura keeps in the body
counts against both extractors alike where the gold leaves it out). On trafilatura-eval, too,
our body paragraphs are scored without the title line, since `trafilatura.extract`'s output
(no metadata) has no title either.

Per page and averaged (sample, zyte):
  P, R, F1   the method of the Zyte benchmark's `evaluate.py` (scrapinghub/
             article-extraction-benchmark, MIT), reimplemented exactly: texts are tokenized
             with the regex \\w+, compared as multisets of 4-token shingles, each page's
             TP/FP/FN normalised to sum 1; P and R are averaged over pages and the averaged
             F1 is their harmonic mean (so it is not the mean of page F1s). A page's F1 is
             the harmonic mean of its own P and R.
  title right          the title equals the gold title (sample site; trafilatura's title is
                       its own metadata title, `trafilatura.extract_metadata`)
  lead kept            the first paragraph is exactly the gold lead (sample site)
  paragraphs right     share of the gold paragraphs found exactly (white space folded)
  pages exact          every paragraph exactly right, in order
  leaked               pages where a boilerplate phrase appears (sample site; see BOILERPLATE)
F1 differences come with the standard deviation of a paired bootstrap (evaluate.py's
`--bootstrap-differences`, 1,000 resamples, fixed seed).

Snippets (trafilatura-eval): the method of trafilatura's own evaluation (tests/evaluate.py
and tests/eval_common.py in adbar/trafilatura), replicated in `benchmarks.trafilatura_eval`:
each `with` snippet found in the text is a TP, missing an FN; each `without` snippet found
is an FP, absent a TN; both sides white-space normalised, then a plain (case-sensitive)
substring test; counts summed over all snippets of all pages (micro P, R, F1). Beside the
default `trafilatura.extract` row, the `include_comments=False` row is how trafilatura's
evaluation calls it for its published "trafilatura" figure. The F1 difference has the same
paired bootstrap over pages.

"failed" counts pages where an extractor produced no text (ours: its failure reason; plain
trafilatura: "empty"); the reasons are listed with their counts. A crash counts as a page
with no text (reason "error: ..."), as trafilatura's evaluation counts it, so one bad page
never stops a run. Pages are scored in parallel, one forked worker per CPU, results kept in
page order; ms/page is the extraction time inside a worker, not wall time over pages.

`--variants` also scores the variants of the generic path (pages without a body hint) that
were weighed when choosing it, on the Zyte set, trafilatura-eval and the sample site without
its profile. `--dump DIR` writes each page's scored text to DIR/<set>/<key>.<extractor>.txt.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Protocol, TypeVar
from unittest import mock

import trafilatura

from benchmarks.trafilatura_eval import (
    TRAFILATURA_EVAL_DIR,
    Confusion,
    SnippetPage,
    match_snippets,
    snippet_pages,
    total,
)
from crawler.extraction import article as extract
from crawler.profiles import ExtractHints, load_profiles
from settings import project

ZYTE_DIR = Path(__file__).resolve().parents[2] / "shared/data/extraction/zyte-article-extraction-benchmark"
SAMPLE_BASE = "https://vov.vn"
MAX_BYTES = 50 * 1024 * 1024  # score every page: the size limit is a crawl policy, not quality
BOOTSTRAP = 1000
SETS = ("sample", "zyte", "trafilatura-eval")
WORKERS = os.cpu_count() or 1

# extractor labels, as the tables print them, and as --dump names their files
OURS_PROFILE, OURS_GENERIC = "ours (vov profile)", "ours (generic)"
PLAIN, NO_COMMENTS = "trafilatura.extract", "trafilatura.extract, include_comments=False"
DUMP_NAMES = {OURS_PROFILE: "ours", OURS_GENERIC: "ours", PLAIN: "trafilatura",
              NO_COMMENTS: "trafilatura-nocomments"}

# Boilerplate a VOV-style page surrounds its article with: name -> pattern. Two are
# checked per page: the page's own figure caption, and teasers of related articles (their
# "VOV.VN - ..." leads: any but the page's own).
BOILERPLATE: dict[str, str] = {
    "Tin liên quan": r"Tin liên quan",
    "Mời quý độc giả theo dõi VOV.VN trên": r"Mời quý độc giả theo dõi VOV\.VN trên",
    "Viết bình luận": r"Viết bình luận",
    "This site is protected by reCAPTCHA": r"This site is protected by reCAPTCHA",
    "Xem thêm": r"Xem thêm",
    "author line (.../VOV...)": r"/VOV",
    "Từ khóa": r"Từ khóa",
    "sidebar Đọc nhiều": r"Đọc nhiều",
    "spam mitom": r"mitom",
}
CAPTION = "figure caption"
TEASER = "related teasers (other VOV.VN - leads)"
SEE_ALSO = "see-also links, any wording (other articles' titles)"


# ---- scoring: evaluate.py's method ------------------------------------------------

TOKEN_RE = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)
Counts = tuple[float, float, float]  # TP, FP, FN of one page, normalised to sum 1


def tokenize(text: str | None) -> list[str]:
    return TOKEN_RE.findall(text or "")


def shingles(text: str | None, n: int = 4) -> Counter[tuple[str, ...]]:
    """Every run of n tokens (the whole text when shorter), counted."""
    tokens = tokenize(text)
    return Counter(tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i:i + n])


def tp_fp_fn(true: str | None, pred: str | None, n: int = 4) -> Counts:
    """evaluate.string_shingle_matching: shingle TP/FP/FN, normalised so that long pages
    weigh no more than short ones."""
    gold, found = shingles(true, n), shingles(pred, n)
    tp = fp = fn = 0.0
    for key in gold.keys() | found.keys():
        tp += min(gold[key], found[key])
        fp += max(0, found[key] - gold[key])
        fn += max(0, gold[key] - found[key])
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total > 0 else (tp, fp, fn)


def precision_score(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    if tp == fp == 0:
        return 0.0
    return tp / (tp + fp)


def recall_score(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    if tp == fn == 0:
        return 0.0
    return tp / (tp + fn)


def f1_score(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


@dataclass(frozen=True)
class Scores:
    f1: float
    precision: float
    recall: float


def averaged(rows: Sequence[Counts]) -> Scores:
    """evaluate.metrics_from_tp_fp_fns: mean P over pages that predicted something, mean R
    over pages whose gold has something, F1 the harmonic mean of the two means."""
    precisions = [precision_score(*row) for row in rows if row[0] + row[1] > 0]
    recalls = [recall_score(*row) for row in rows if row[0] + row[2] > 0]
    precision = statistics.mean(precisions) if precisions else 0.0
    recall = statistics.mean(recalls) if recalls else 0.0
    return Scores(f1_score(precision, recall), precision, recall)


def bootstrap_difference(rows: Sequence[Counts], other: Sequence[Counts],
                         n: int = BOOTSTRAP, seed: int = 0) -> tuple[float, float]:
    """evaluate.print_metrics_diff for F1: mean and standard deviation of F1(rows) - F1(other)
    over paired resamples of the pages (seeded: the same figures every run)."""
    return paired_bootstrap(len(rows), lambda picks: averaged([rows[i] for i in picks]).f1
                            - averaged([other[i] for i in picks]).f1, n, seed)


def paired_bootstrap(n_pages: int, difference: Callable[[list[int]], float],
                     n: int = BOOTSTRAP, seed: int = 0) -> tuple[float, float]:
    """Mean and standard deviation of a difference over n resamples of the pages, both
    extractors on the same picks (seeded: the same figures every run)."""
    rng = random.Random(seed)
    diffs = [difference([rng.randrange(n_pages) for _ in range(n_pages)]) for _ in range(n)]
    return statistics.mean(diffs), statistics.stdev(diffs)


# ---- gold pages ---------------------------------------------------------------------


@dataclass(frozen=True)
class GoldPage:
    key: str
    body: bytes
    content_type: str | None
    paragraphs: tuple[str, ...]  # the gold text after the title, one paragraph each
    title: str | None = None
    lead: str | None = None
    boilerplate: dict[str, str] = field(default_factory=dict)  # name -> pattern never to appear
    url: str | None = None  # where the page was fetched (tells same-site links from others)


def fold(text: str) -> str:
    return " ".join(text.split())


def sample_site_pages(n_articles: int = 30) -> list[GoldPage]:
    """Every gold article of a sample site, rendered as the server would send it."""
    from tests.sample_site import SampleSite

    site = SampleSite(n_articles=n_articles)
    pages = []
    for article in site.articles:
        response = site.respond(article.path, SAMPLE_BASE)
        pages.append(GoldPage(
            key=article.path, body=response.body, content_type=response.content_type,
            paragraphs=(article.summary, *article.paragraphs), title=article.title,
            lead=article.summary, boilerplate={
                **BOILERPLATE, CAPTION: re.escape(article.caption),
                TEASER: rf"VOV\.VN\s*-(?!\s*{re.escape(article.lead[:40])})",
                SEE_ALSO: "|".join(re.escape(other.title) for other in site.articles if other is not article),
            }, url=SAMPLE_BASE + article.path,
        ))
    return pages


def vn_portal_pages() -> list[GoldPage]:
    """Hand-made pages in the markup of Vietnamese portals we have no profile for
    (tests.generic_pages: leads in h2.sapo, p.description..., teasers in several wordings).
    Written by us to exercise the generic rules: a check of the rules, not of generality."""
    from tests.generic_pages import LEAD_PAGES

    return [GoldPage(key=page.name, body=page.body, content_type="text/html; charset=utf-8",
                     paragraphs=tuple(p for p in (page.lead, *page.paragraphs) if p), title=page.title,
                     lead=page.lead or None,
                     boilerplate={f"absent {i}": re.escape(text) for i, text in enumerate(page.absent)})
            for page in LEAD_PAGES]


def zyte_pages(folder: Path = ZYTE_DIR, keys: Sequence[str] | None = None) -> list[GoldPage]:
    """The Zyte benchmark's pages (all, or those keys); the files all decode as UTF-8."""
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in keys if keys is not None else sorted(truth):
        body = gzip.decompress((folder / "html" / f"{key}.html.gz").read_bytes())
        lines = (fold(line) for line in truth[key]["articleBody"].splitlines())
        pages.append(GoldPage(key=key, body=body, content_type="text/html",
                              paragraphs=tuple(line for line in lines if line), url=truth[key]["url"]))
    return pages


# ---- extractors under test --------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    title: str | None
    paragraphs: tuple[str, ...]
    failure: str | None = None


class Page(Protocol):
    """What an extractor reads of a page: a GoldPage or a SnippetPage."""

    @property
    def key(self) -> str: ...

    @property
    def body(self) -> bytes: ...

    @property
    def content_type(self) -> str | None: ...

    @property
    def title(self) -> str | None: ...

    @property
    def url(self) -> str | None: ...


Extractor = Callable[[Page], Prediction]


def ours(hints: ExtractHints) -> Extractor:
    def run(page: Page) -> Prediction:
        result = extract.extract_article(page.body, content_type=page.content_type, hints=hints,
                                         max_bytes=MAX_BYTES, url=page.url)
        if result.article is None:
            assert result.failure is not None
            return Prediction(None, (), result.failure.reason)
        return Prediction(result.article.title, result.article.paragraphs)
    return run


def plain_trafilatura(page: Page) -> Prediction:
    """`trafilatura.extract` with its defaults on the page's bytes (it decodes them itself),
    and, for the title, its own metadata title."""
    return _trafilatura(page)


def trafilatura_without_comments(page: Page) -> Prediction:
    """`trafilatura.extract(html, include_comments=False)`: how the Zyte benchmark's own
    runner (extractors/run_trafilatura.py) calls it for its published figure, and how
    trafilatura's evaluation does (tables kept, no formatting: the defaults)."""
    return _trafilatura(page, include_comments=False)


def _trafilatura(page: Page, **options: bool) -> Prediction:
    text = trafilatura.extract(page.body, **options) or ""
    title = trafilatura.extract_metadata(page.body).title if page.title is not None else None
    return Prediction(title, tuple(fold(line) for line in text.splitlines() if line.strip()),
                      None if text.strip() else "empty")


def predict(page: Page, extractor: Extractor) -> tuple[Prediction, float]:
    """The extractor's prediction and the time it took. A crash is a page without text, as
    trafilatura's evaluation counts it, so that one bad page does not end a long run."""
    started = time.perf_counter()
    try:
        prediction = extractor(page)
    except Exception as error:
        prediction = Prediction(None, (), f"error: {type(error).__name__}")
    return prediction, time.perf_counter() - started


def vov_hints() -> ExtractHints:
    return load_profiles(project.PROFILES_DIR)["vov"].extract


# ---- page scores ----------------------------------------------------------------------


@dataclass(frozen=True)
class PageScore:
    key: str
    counts: Counts
    title_right: bool | None
    lead_kept: bool | None
    leaked: frozenset[str]
    paragraphs_right: float
    exact: bool
    failure: str | None
    seconds: float
    text: str = ""  # what was scored: the paragraphs after the title, one a line

    @property
    def precision(self) -> float:
        return precision_score(*self.counts)

    @property
    def recall(self) -> float:
        return recall_score(*self.counts)

    @property
    def f1(self) -> float:
        return f1_score(self.precision, self.recall)


def score_page(page: GoldPage, prediction: Prediction, seconds: float = 0.0) -> PageScore:
    gold = "\n\n".join(page.paragraphs)
    found = [fold(paragraph) for paragraph in prediction.paragraphs]
    text = "\n".join([prediction.title or "", *found])
    leaked = frozenset(name for name, pattern in page.boilerplate.items()
                       if re.search(pattern, text) and not re.search(pattern, gold))
    matched = Counter(page.paragraphs) & Counter(found)
    return PageScore(
        key=page.key,
        counts=tp_fp_fn(gold, "\n\n".join(found)),
        title_right=None if page.title is None else fold(prediction.title or "") == page.title,
        lead_kept=None if page.lead is None else found[:1] == [page.lead],
        leaked=leaked,
        paragraphs_right=sum(matched.values()) / len(page.paragraphs) if page.paragraphs else 1.0,
        exact=tuple(found) == page.paragraphs,
        failure=prediction.failure,
        seconds=seconds,
        text="\n".join(found),
    )


def score_all(pages: Sequence[GoldPage], extractor: Extractor) -> list[PageScore]:
    return in_parallel(lambda page: score_page(page, *predict(page, extractor)), pages)


@dataclass(frozen=True)
class SnippetScore:
    key: str
    counts: Confusion
    missed: tuple[str, ...]  # "with" snippets not found
    leaked: tuple[str, ...]  # "without" snippets found
    failure: str | None
    seconds: float
    text: str  # what was scored: the paragraphs after the title, one a line


def score_snippet_page(page: SnippetPage, prediction: Prediction, seconds: float = 0.0) -> SnippetScore:
    """Our body paragraphs (or trafilatura's lines), one a line: the matcher folds white space
    as trafilatura's evaluation does, so this scores the same as trafilatura's raw output."""
    text = "\n".join(prediction.paragraphs)
    match = match_snippets(text, page.wanted, page.unwanted)
    return SnippetScore(page.key, match.counts, match.missed, match.leaked, prediction.failure,
                        seconds, text)


def score_snippets(pages: Sequence[SnippetPage], extractor: Extractor) -> list[SnippetScore]:
    return in_parallel(lambda page: score_snippet_page(page, *predict(page, extractor)), pages)


# ---- in parallel ----------------------------------------------------------------------

T = TypeVar("T")
R = TypeVar("R")
_WORK: tuple[Callable[[Any], Any], Sequence[Any]] | None = None  # set in each forked worker


def in_parallel(work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """work(item) for every item, on one forked worker per CPU, results in item order. Forking
    hands each worker the items and the work (closures, patched modules) as they are, never
    pickled; only the results travel back."""
    if not items:
        return []
    with ProcessPoolExecutor(min(WORKERS, len(items)), mp_context=get_context("fork"),
                             initializer=_start_worker, initargs=(work, items)) as pool:
        return list(pool.map(_work_on, range(len(items)), chunksize=4))


def _start_worker(work: Callable[[Any], Any], items: Sequence[Any]) -> None:
    global _WORK
    _WORK = (work, items)


def _work_on(index: int) -> Any:
    assert _WORK is not None, "a worker runs only in a pool started by in_parallel"
    work, items = _WORK
    return work(items[index])


# ---- report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    gold_set: str
    extractor: str
    scores: list[PageScore]

    @property
    def averaged(self) -> Scores:
        return averaged([score.counts for score in self.scores])


def rate(values: Sequence[bool | None]) -> str:
    known = [value for value in values if value is not None]
    return f"{100 * sum(known) / len(known):.1f}%" if known else "—"


def summary_table(runs: Sequence[Run]) -> str:
    lines = [
        "| gold set | extractor | pages | F1 | P | R | title right | lead kept | paragraphs right "
        "| pages exact | pages leaking boilerplate | failed | ms/page |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in runs:
        scores, mean = run.scores, run.averaged
        has_boilerplate = any(score.leaked for score in scores) or run.gold_set.startswith("sample")
        lines.append(
            f"| {run.gold_set} | {run.extractor} | {len(scores)} | {mean.f1:.4f} | {mean.precision:.4f} "
            f"| {mean.recall:.4f} | {rate([s.title_right for s in scores])} "
            f"| {rate([s.lead_kept for s in scores])} "
            f"| {100 * statistics.mean(s.paragraphs_right for s in scores):.1f}% "
            f"| {rate([s.exact for s in scores])} "
            f"| {rate([bool(s.leaked) for s in scores]) if has_boilerplate else '—'} "
            f"| {sum(1 for s in scores if s.failure)} "
            f"| {1000 * statistics.mean(s.seconds for s in scores):.1f} |"
        )
    return "\n".join(lines)


def leak_table(runs: Sequence[Run]) -> str:
    names = [*BOILERPLATE, CAPTION, TEASER, SEE_ALSO]
    lines = ["| boilerplate phrase | " + " | ".join(run.extractor for run in runs) + " |",
             "| --- |" + " --- |" * len(runs)]
    for name in names:
        cells = (rate([name in score.leaked for score in run.scores]) for run in runs)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def difference_line(ours_run: Run, baseline: Run) -> str:
    mean, std = bootstrap_difference([s.counts for s in ours_run.scores],
                                     [s.counts for s in baseline.scores])
    return (f"{ours_run.gold_set}: F1 {ours_run.extractor} - {baseline.extractor} = "
            f"{ours_run.averaged.f1 - baseline.averaged.f1:+.4f} (bootstrap {mean:+.4f} ± {std:.4f})")


@dataclass(frozen=True)
class SnippetRun:
    gold_set: str
    extractor: str
    scores: list[SnippetScore]

    @property
    def totals(self) -> Confusion:
        return total(score.counts for score in self.scores)


def snippet_table(runs: Sequence[SnippetRun]) -> str:
    """Snippet sets have no gold title, lead or paragraphs: their own, smaller table."""
    lines = ["| gold set | extractor | pages | F1 | P | R | failed | ms/page | TP | FP | FN | TN |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for run in runs:
        counts = run.totals
        lines.append(
            f"| {run.gold_set} | {run.extractor} | {len(run.scores)} | {counts.f1:.4f} "
            f"| {counts.precision:.4f} | {counts.recall:.4f} | {sum(1 for s in run.scores if s.failure)} "
            f"| {1000 * statistics.mean(s.seconds for s in run.scores):.1f} "
            f"| {counts.tp} | {counts.fp} | {counts.fn} | {counts.tn} |"
        )
    return "\n".join(lines)


def snippet_difference_line(ours_run: SnippetRun, baseline: SnippetRun) -> str:
    rows = [(s.counts.tp, s.counts.fp, s.counts.fn) for s in ours_run.scores]
    other = [(s.counts.tp, s.counts.fp, s.counts.fn) for s in baseline.scores]
    mean, std = paired_bootstrap(len(rows), lambda picks: _micro_f1([rows[i] for i in picks])
                                 - _micro_f1([other[i] for i in picks]))
    return (f"{ours_run.gold_set}: F1 {ours_run.extractor} - {baseline.extractor} = "
            f"{ours_run.totals.f1 - baseline.totals.f1:+.4f} (bootstrap {mean:+.4f} ± {std:.4f})")


def _micro_f1(rows: Sequence[tuple[int, int, int]]) -> float:
    """Micro F1 of (TP, FP, FN) rows: plain sums, fast enough for 1,000 resamples."""
    tp, fp, fn = (sum(column) for column in zip(*rows, strict=True))
    return Confusion(tp, fp, fn).f1


def failure_line(run: Run | SnippetRun) -> str:
    """How many pages got no text, and why, most common reason first."""
    reasons = Counter(score.failure for score in run.scores if score.failure)
    listed = ", ".join(f"{reason}: {count}" for reason, count in
                       sorted(reasons.items(), key=lambda item: (-item[1], item[0])))
    return (f"{run.gold_set} / {run.extractor}: {sum(reasons.values())} of {len(run.scores)} pages"
            + (f" ({listed})" if listed else ""))


def per_page_table(run: Run) -> str:
    lines = [f"{run.gold_set} / {run.extractor}", f"{'page':<68} {'P':>6} {'R':>6} {'F1':>6}  notes"]
    for score in run.scores:
        notes = [f"failed: {score.failure}"] if score.failure else []
        notes += [f"leaked: {', '.join(sorted(score.leaked))}"] if score.leaked else []
        notes += ["title wrong"] if score.title_right is False else []
        notes += ["lead lost"] if score.lead_kept is False else []
        lines.append(f"{score.key[:68]:<68} {score.precision:6.3f} {score.recall:6.3f} {score.f1:6.3f}  "
                     + "; ".join(notes))
    return "\n".join(lines)


def snippet_per_page_table(run: SnippetRun) -> str:
    """One line a page, naming the snippets that went wrong: what tuning the extractor needs."""
    lines = [f"{run.gold_set} / {run.extractor}", f"{'page':<60} {'TP':>3} {'FP':>3} {'FN':>3}  notes"]
    for score in run.scores:
        notes = [f"failed: {score.failure}"] if score.failure else []
        notes += [f"missed: {_quoted(score.missed)}"] if score.missed else []
        notes += [f"leaked: {_quoted(score.leaked)}"] if score.leaked else []
        counts = score.counts
        lines.append(f"{score.key[:60]:<60} {counts.tp:3} {counts.fp:3} {counts.fn:3}  "
                     f"{'; '.join(notes)}".rstrip())
    return "\n".join(lines)


def _quoted(snippets: Sequence[str], width: int = 80) -> str:
    """repr, so that a soft hyphen or an odd space in a snippet shows."""
    return ", ".join(repr(s if len(s) <= width else s[:width - 1] + "…") for s in snippets)


def dump_texts(folder: Path, runs: Sequence[Run | SnippetRun]) -> None:
    """Each page's scored text, DIR/<set>/<key>.<extractor>.txt, so that `diff` pairs them up;
    a page without text gets an empty file."""
    for run in runs:
        target = folder / run.gold_set
        target.mkdir(parents=True, exist_ok=True)
        name = DUMP_NAMES.get(run.extractor) or re.sub(r"\W+", "-", run.extractor).strip("-")
        for score in run.scores:
            stem = score.key.strip("/").replace("/", "_") or "index"
            (target / f"{stem}.{name}.txt").write_text(score.text + "\n" if score.text else "",
                                                       encoding="utf-8")


# ---- variants of the generic path (pages without a body hint) ---------------------------


def _mode(**options: object) -> Callable[..., extract.Body]:
    """trafilatura in one mode for the generic body, sibling sections still read whole."""
    def body(tree: object) -> extract.Body:
        paragraphs = extract.paragraphs_of(extract.run_trafilatura(tree, **options))
        return extract.Body(extract.whole_body(paragraphs, tree), None)  # type: ignore[arg-type]
    return body


def _no_teasers(root: object, page_url: str | None) -> None:
    return None


def _no_lead(*_: object) -> str:
    return ""


def _first_section_only(paragraphs: list[str], tree: object) -> list[str]:
    return paragraphs


def _run_without_tables(tree: object, **options: object) -> object:
    document = trafilatura.bare_extraction(tree, include_comments=False, include_tables=False,
                                           with_metadata=False, deduplicate=False, **options)  # type: ignore[arg-type]
    return None if document is None else document.body


def _global_dedupe(lead: str, body: list[str], patterns: tuple[str, ...], title: str) -> list[str]:
    kept = [lead] if lead else []
    seen = {title, lead}
    for paragraph in body:
        if paragraph and paragraph not in seen and not extract._matches_any(patterns, paragraph):
            seen.add(paragraph)
            kept.append(paragraph)
    return kept


VARIANTS: dict[str, dict[str, Callable[..., object]]] = {
    "balanced (trafilatura's default mode)": {"generic_body": _mode()},
    "recall (the vnarchive-2 mode)": {"generic_body": _mode(favor_recall=True)},
    "precision, no collapse guard": {"generic_body": _mode(favor_precision=True)},
    "ours, tables dropped": {"run_trafilatura": _run_without_tables},
    "ours, every duplicate dropped": {"clean_paragraphs": _global_dedupe},
    "ours, no teaser rule": {"drop_teasers": _no_teasers},
    "ours, no generic lead": {"find_lead": _no_lead},
    "ours, first body section only": {"whole_body": _first_section_only},
    "ours (precision + guard, teasers, leads, sections)": {},
}


@contextmanager
def variant(replacements: dict[str, Callable[..., object]]) -> Iterator[None]:
    if not replacements:
        yield
        return
    with mock.patch.multiple(extract, **replacements):  # type: ignore[arg-type]
        yield


def variant_runs(sample: Sequence[GoldPage], zyte: Sequence[GoldPage],
                 snippets: Sequence[SnippetPage]) -> tuple[list[Run], list[SnippetRun]]:
    """Every variant on the pages loaded (the sample site without its profile)."""
    runs, snippet_runs = [], []
    for name, replacements in VARIANTS.items():
        with variant(replacements):  # forked workers inherit the patched module
            if zyte:
                runs.append(Run("zyte", name, score_all(zyte, ours(ExtractHints()))))
            if sample:
                runs.append(Run("sample, no profile", name, score_all(sample, ours(ExtractHints()))))
            if snippets:
                snippet_runs.append(SnippetRun("trafilatura-eval", name,
                                               score_snippets(snippets, ours(ExtractHints()))))
    return runs, snippet_runs


# ---- main ---------------------------------------------------------------------------------


def set_names(value: str) -> tuple[str, ...]:
    """--sets: a comma-separated choice among SETS."""
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    unknown = [name for name in names if name not in SETS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown set {', '.join(unknown) or value!r}; "
                                         f"choose among {','.join(SETS)}")
    return names


def folder_present(name: str, folder: Path, marker: str, option: str) -> bool:
    """Whether a gold set's folder is there; if not, the set is skipped and stderr says so."""
    if (folder / marker).is_file():
        return True
    print(f"{name} not found at {folder}: its part is skipped (it lives in ../shared/data/extraction; "
          f"{option} PATH points elsewhere).", file=sys.stderr)
    return False


def load_sets(args: argparse.Namespace) -> tuple[list[GoldPage], list[GoldPage], list[SnippetPage]]:
    """The pages of the sets asked for whose folders are there: sample, zyte, trafilatura-eval."""
    sample = sample_site_pages(args.articles) if "sample" in args.sets else []
    zyte = (zyte_pages(args.zyte) if "zyte" in args.sets
            and folder_present("Zyte benchmark", args.zyte, "ground-truth.json", "--zyte") else [])
    snippets = (snippet_pages(args.trafilatura_eval) if "trafilatura-eval" in args.sets
                and folder_present("trafilatura-eval", args.trafilatura_eval, "evaldata.json",
                                   "--trafilatura-eval") else [])
    return sample, zyte, snippets


def gold_comparisons(sample: Sequence[GoldPage], zyte: Sequence[GoldPage]) -> list[tuple[Run, list[Run]]]:
    """Our run and its plain-trafilatura baselines, per gold-text set."""
    compared = []
    if sample:
        compared.append((Run("sample", OURS_PROFILE, score_all(sample, ours(vov_hints()))),
                         [Run("sample", PLAIN, score_all(sample, plain_trafilatura))]))
        portals, name = vn_portal_pages(), "vn-portals (hand-made)"
        compared.append((Run(name, OURS_GENERIC, score_all(portals, ours(ExtractHints()))),
                         [Run(name, PLAIN, score_all(portals, plain_trafilatura))]))
    if zyte:
        compared.append((Run("zyte", OURS_GENERIC, score_all(zyte, ours(ExtractHints()))), [
            Run("zyte", PLAIN, score_all(zyte, plain_trafilatura)),
            Run("zyte", NO_COMMENTS, score_all(zyte, trafilatura_without_comments)),
        ]))
    return compared


def snippet_comparisons(pages: Sequence[SnippetPage]) -> list[tuple[SnippetRun, list[SnippetRun]]]:
    """The same for trafilatura-eval; the no-comments row is trafilatura's published one."""
    if not pages:
        return []
    return [(SnippetRun("trafilatura-eval", OURS_GENERIC, score_snippets(pages, ours(ExtractHints()))), [
        SnippetRun("trafilatura-eval", PLAIN, score_snippets(pages, plain_trafilatura)),
        SnippetRun("trafilatura-eval", NO_COMMENTS, score_snippets(pages, trafilatura_without_comments)),
    ])]


def print_summary(compared: Sequence[tuple[Run, list[Run]]],
                  snippet_compared: Sequence[tuple[SnippetRun, list[SnippetRun]]]) -> None:
    """The tables, F1 differences, failure reasons and (sample site) boilerplate leaks."""
    runs = [run for ours_run, baselines in compared for run in (ours_run, *baselines)]
    snippet_runs = [run for ours_run, baselines in snippet_compared for run in (ours_run, *baselines)]
    print(f"Extraction quality: extractor {extract.EXTRACTOR_VERSION}, "
          f"trafilatura {trafilatura.__version__}, {WORKERS} worker processes\n")
    if runs:
        print(summary_table(runs) + "\n")
    if snippet_runs:
        print("Snippets (trafilatura's evaluation method; micro P, R, F1 over all snippets):\n")
        print(snippet_table(snippet_runs) + "\n")
    for ours_run, baselines in compared:
        for baseline in baselines:
            print(difference_line(ours_run, baseline))
    for snippet_run, snippet_baselines in snippet_compared:
        for snippet_baseline in snippet_baselines:
            print(snippet_difference_line(snippet_run, snippet_baseline))
    print("\nPages without text (failure reasons):")
    for run in [*runs, *snippet_runs]:
        print("  " + failure_line(run))
    for ours_run, baselines in compared:
        if ours_run.gold_set == "sample":
            print("\nBoilerplate leaked (share of sample-site pages):\n")
            print(leak_table([ours_run, *baselines]))


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=set_names, default=SETS, metavar=",".join(SETS),
                        help="the gold sets to score (default: all)")
    parser.add_argument("--articles", type=int, default=30, help="articles of the sample site")
    parser.add_argument("--zyte", type=Path, default=ZYTE_DIR, help="the Zyte benchmark folder")
    parser.add_argument("--trafilatura-eval", type=Path, default=TRAFILATURA_EVAL_DIR,
                        help="trafilatura's evaluation corpus folder")
    parser.add_argument("--per-page", action="store_true", help="print every page's scores")
    parser.add_argument("--variants", action="store_true", help="score the generic path's variants too")
    parser.add_argument("--dump", type=Path, metavar="DIR",
                        help="write each page's scored text to DIR/<set>/<key>.<extractor>.txt")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    started = time.perf_counter()
    sample, zyte, snippets = load_sets(args)
    if not (sample or zyte or snippets):
        print("No gold set to score.", file=sys.stderr)
        return 1
    compared = gold_comparisons(sample, zyte)
    snippet_compared = snippet_comparisons(snippets)
    print_summary(compared, snippet_compared)
    if args.variants:
        variants, snippet_variants = variant_runs(sample, zyte, snippets)
        print("\nVariants of the generic path (no body hint):")
        if variants:
            print("\n" + summary_table(variants))
        if snippet_variants:
            print("\n" + snippet_table(snippet_variants))
    runs = [run for ours_run, baselines in compared for run in (ours_run, *baselines)]
    snippet_runs = [run for ours_run, baselines in snippet_compared for run in (ours_run, *baselines)]
    if args.per_page:
        for run in runs:
            print("\n" + per_page_table(run))
        for snippet_run in snippet_runs:
            print("\n" + snippet_per_page_table(snippet_run))
    if args.dump:
        dump_texts(args.dump, [*runs, *snippet_runs])
        print(f"\nTexts written under {args.dump}/<set>/<key>.<extractor>.txt")
    print(f"\nRun time: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
