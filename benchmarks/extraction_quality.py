"""Benchmark: extraction quality against gold text, our extractor beside plain trafilatura.

    .venv/bin/python -m benchmarks.extraction_quality [--per-page] [--variants] [--articles 30]

Two gold sets, each scored for our extractor and for plain `trafilatura.extract(html)` with
its default settings, in the same run:

  sample  our VOV-style sample site (tests.sample_site): every gold article's page rendered
          in process (no HTTP), with its real bytes and Content-Type (one page is
          windows-1258), extracted with the `vov` profile's hints.
  zyte    the Zyte article-extraction benchmark (../shared/data/extraction/
          zyte-article-extraction-benchmark): 181 real pages from many sites, extracted with
          generic hints (`ExtractHints()`): no site knowledge. Skipped, with a message,
          where the folder is absent.

What is compared: the text after the title line, paragraph by paragraph. On the sample site
that is the lead ("VOV.VN - ...") and the body, because the lead is part of the article and
of our text files (plain trafilatura drops it, and loses recall for it). The Zyte gold
`articleBody` is the body only and has no titles; with generic hints we take no lead, so our
paragraphs after the title are scored as they are (a standfirst trafilatura keeps in the body
counts against both extractors alike where the gold leaves it out).

Per page and averaged:
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

`--variants` also scores the variants of the generic path (pages without a body hint) that
were weighed when choosing it, on the Zyte set and on the sample site without its profile.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import trafilatura

from crawler.extraction import article as extract
from crawler.profiles import ExtractHints, load_profiles
from settings import project

ZYTE_DIR = Path(__file__).resolve().parents[2] / "shared/data/extraction/zyte-article-extraction-benchmark"
SAMPLE_BASE = "https://vov.vn"
MAX_BYTES = 50 * 1024 * 1024  # score every page: the size limit is a crawl policy, not quality
BOOTSTRAP = 1000

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
    rng = random.Random(seed)
    diffs = []
    for _ in range(n):
        picks = [rng.randrange(len(rows)) for _ in rows]
        diffs.append(averaged([rows[i] for i in picks]).f1 - averaged([other[i] for i in picks]).f1)
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
            },
        ))
    return pages


def zyte_pages(folder: Path = ZYTE_DIR, keys: Sequence[str] | None = None) -> list[GoldPage]:
    """The Zyte benchmark's pages (all, or those keys); the files all decode as UTF-8."""
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in keys if keys is not None else sorted(truth):
        body = gzip.decompress((folder / "html" / f"{key}.html.gz").read_bytes())
        lines = (fold(line) for line in truth[key]["articleBody"].splitlines())
        pages.append(GoldPage(key=key, body=body, content_type="text/html",
                              paragraphs=tuple(line for line in lines if line)))
    return pages


# ---- extractors under test --------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    title: str | None
    paragraphs: tuple[str, ...]
    failure: str | None = None


Extractor = Callable[[GoldPage], Prediction]


def ours(hints: ExtractHints) -> Extractor:
    def run(page: GoldPage) -> Prediction:
        result = extract.extract_article(page.body, content_type=page.content_type, hints=hints,
                                         max_bytes=MAX_BYTES)
        if result.article is None:
            assert result.failure is not None
            return Prediction(None, (), result.failure.reason)
        return Prediction(result.article.title, result.article.paragraphs)
    return run


def plain_trafilatura(page: GoldPage) -> Prediction:
    """`trafilatura.extract` with its defaults on the page's bytes (it decodes them itself),
    and, for the title, its own metadata title."""
    return _trafilatura(page)


def trafilatura_without_comments(page: GoldPage) -> Prediction:
    """`trafilatura.extract(html, include_comments=False)`: how the Zyte benchmark's own
    runner (extractors/run_trafilatura.py) calls it for its published figure."""
    return _trafilatura(page, include_comments=False)


def _trafilatura(page: GoldPage, **options: bool) -> Prediction:
    text = trafilatura.extract(page.body, **options) or ""
    title = trafilatura.extract_metadata(page.body).title if page.title is not None else None
    return Prediction(title, tuple(fold(line) for line in text.splitlines() if line.strip()))


def vov_hints() -> ExtractHints:
    return load_profiles(Path(project.PROFILES_DIR))["vov"].extract


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
    )


def score_all(pages: Sequence[GoldPage], extractor: Extractor) -> list[PageScore]:
    scores = []
    for page in pages:
        started = time.perf_counter()
        prediction = extractor(page)
        scores.append(score_page(page, prediction, time.perf_counter() - started))
    return scores


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
    names = [*BOILERPLATE, CAPTION, TEASER]
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


# ---- variants of the generic path (pages without a body hint) ---------------------------


def _mode(**options: object) -> Callable[..., extract.Body]:
    def body(tree: object) -> extract.Body:
        return extract.Body(extract.paragraphs_of(extract.run_trafilatura(tree, **options)), None)
    return body


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
    "precision + guard, tables dropped": {"run_trafilatura": _run_without_tables},
    "precision + guard, every duplicate dropped": {"clean_paragraphs": _global_dedupe},
    "precision + guard (ours)": {},
}


@contextmanager
def variant(replacements: dict[str, Callable[..., object]]) -> Iterator[None]:
    if not replacements:
        yield
        return
    with mock.patch.multiple(extract, **replacements):  # type: ignore[arg-type]
        yield


def variant_runs(sample: Sequence[GoldPage], zyte: Sequence[GoldPage]) -> list[Run]:
    runs = []
    for name, replacements in VARIANTS.items():
        with variant(replacements):
            if zyte:
                runs.append(Run("zyte", name, score_all(zyte, ours(ExtractHints()))))
            runs.append(Run("sample, no profile", name, score_all(sample, ours(ExtractHints()))))
    return runs


# ---- main ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=30, help="articles of the sample site")
    parser.add_argument("--zyte", type=Path, default=ZYTE_DIR, help="the Zyte benchmark folder")
    parser.add_argument("--per-page", action="store_true", help="print every page's scores")
    parser.add_argument("--variants", action="store_true", help="score the generic path's variants too")
    args = parser.parse_args(argv)

    sample = sample_site_pages(args.articles)
    ours_sample = Run("sample", "ours (vov profile)", score_all(sample, ours(vov_hints())))
    compared = [(ours_sample, [Run("sample", "trafilatura.extract", score_all(sample, plain_trafilatura))])]
    zyte: list[GoldPage] = []
    if (args.zyte / "ground-truth.json").is_file():
        zyte = zyte_pages(args.zyte)
        compared.append((Run("zyte", "ours (generic)", score_all(zyte, ours(ExtractHints()))), [
            Run("zyte", "trafilatura.extract", score_all(zyte, plain_trafilatura)),
            Run("zyte", "trafilatura.extract, include_comments=False",
                score_all(zyte, trafilatura_without_comments)),
        ]))
    else:
        print(f"Zyte benchmark not found at {args.zyte}: its part is skipped "
              "(it lives in ../shared/data; --zyte PATH points elsewhere).", file=sys.stderr)
    runs = [run for ours_run, baselines in compared for run in (ours_run, *baselines)]

    print(f"Extraction quality: extractor {extract.EXTRACTOR_VERSION}, "
          f"trafilatura {trafilatura.__version__}\n")
    print(summary_table(runs))
    print()
    for ours_run, baselines in compared:
        for baseline in baselines:
            print(difference_line(ours_run, baseline))
    print("\nBoilerplate leaked (share of sample-site pages):\n")
    print(leak_table([ours_sample, *compared[0][1]]))
    if args.variants:
        print("\nVariants of the generic path (no body hint):\n")
        print(summary_table(variant_runs(sample, zyte)))
    if args.per_page:
        for run in runs:
            print()
            print(per_page_table(run))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
