"""trafilatura's evaluation corpus as a gold set: its pages, and its snippet scoring, replicated.

The corpus (../shared/data/extraction/trafilatura-eval, from adbar/trafilatura's tests/,
Apache-2.0) is 945 real pages, each gzipped under `html/<file>.gz`, and `evaldata.json`:
`{url: {"file": ..., "with": [...], "without": [...], ...}}`. There is no gold text: a page
is judged by short snippets that must appear in the extracted text (`with`) or must not
(`without`, boilerplate next to the article).

Replicated from trafilatura's own scorer (tests/eval_common.py `norm`, `count_item` and
`ConfusionMatrix`, used by tests/evaluate.py and the CI gate tests/eval_gate.py):
  - both the snippet and the extracted text are white-space normalised (every run of
    Unicode white space, newlines and NBSP included, becomes one space; ends stripped),
    then a snippet counts when it is a plain substring: case, punctuation, Unicode
    normalisation and soft hyphens are left as they are;
  - a `with` snippet found is a TP, missing an FN; a `without` snippet found is an FP,
    absent a TN; no text at all (or a crash) finds nothing: every `with` is an FN, every
    `without` a TN;
  - counts are summed over all pages (micro): P = TP/(TP+FP), R = TP/(TP+FN),
    F1 = 2TP/(2TP+FP+FN), each 0 when its denominator is;
  - pages are read as raw bytes and handed to the extractor undecoded (trafilatura decodes
    them itself, guessing the encoding when the declared one fails); a page whose file is
    absent is left out, as eval_gate.py does.
Not replicated: the corpus check (`validate`), which this snapshot passes. trafilatura's older
scripts (tests/comparison.py) tested `snippet in text` without normalising white space; the
current scorer and CI gate normalise, and so does this one. Nine snippets hold soft hyphens
(U+00AD) that both trafilatura and our extractor strip from the text: their six `with`
snippets are misses for every extractor, as they are in trafilatura's own figures.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

TRAFILATURA_EVAL_DIR = Path(__file__).resolve().parents[2] / "shared/data/extraction/trafilatura-eval"

WHITE_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class SnippetPage:
    key: str  # the page's file name in evaldata.json
    url: str
    body: bytes
    wanted: tuple[str, ...]  # evaldata's "with"
    unwanted: tuple[str, ...]  # evaldata's "without"
    content_type: str | None = None  # none known: the extractors decode the bytes themselves
    title: str | None = None  # no gold title: only the text is scored


def snippet_pages(folder: Path = TRAFILATURA_EVAL_DIR,
                  files: Sequence[str] | None = None) -> list[SnippetPage]:
    """The corpus's pages (all, or those files), in file-name order, so runs and dumps line up."""
    evaldata = json.loads((folder / "evaldata.json").read_text(encoding="utf-8"))
    chosen = None if files is None else set(files)
    pages, absent = [], []
    for url, item in evaldata.items():
        if chosen is not None and item["file"] not in chosen:
            continue
        path = folder / "html" / f"{item['file']}.gz"
        if not path.is_file():
            absent.append(item["file"])
            continue
        pages.append(SnippetPage(key=item["file"], url=url, body=gzip.decompress(path.read_bytes()),
                                 wanted=tuple(item["with"]), unwanted=tuple(item["without"])))
    if absent:
        print(f"trafilatura-eval: {len(absent)} pages named in evaldata.json have no file under "
              f"{folder / 'html'}: left out", file=sys.stderr)
    return sorted(pages, key=lambda page: page.key)


def norm(text: str) -> str:
    """eval_common.norm: white space must not decide a match, on either side."""
    return WHITE_SPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class Confusion:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def __add__(self, other: Confusion) -> Confusion:
        return Confusion(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else 0.0


def total(counts: Iterable[Confusion]) -> Confusion:
    """Micro counts: every snippet of every page weighs the same."""
    return sum(counts, Confusion())


@dataclass(frozen=True)
class SnippetMatch:
    counts: Confusion
    missed: tuple[str, ...]  # "with" snippets not found
    leaked: tuple[str, ...]  # "without" snippets found


def match_snippets(text: str | None, wanted: Sequence[str], unwanted: Sequence[str]) -> SnippetMatch:
    """eval_common.count_item, keeping which snippets went wrong (what a developer tunes on)."""
    found = norm(text) if text else None
    missed = tuple(s for s in wanted if found is None or norm(s) not in found)
    leaked = tuple(s for s in unwanted if found is not None and norm(s) in found)
    tp, fp = len(wanted) - len(missed), len(leaked)
    return SnippetMatch(Confusion(tp, fp, len(missed), len(unwanted) - fp), missed, leaked)
