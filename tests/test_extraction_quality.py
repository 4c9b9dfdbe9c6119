"""The extraction-quality scorers: faithful to the Zyte benchmark's evaluate.py and to
trafilatura's snippet evaluation, and able to fail.

The full figures come from `python -m benchmarks.extraction_quality`; these tests keep its
scoring honest on a few pages so that the benchmark cannot silently flatter us.
"""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType

import pytest
import trafilatura

from benchmarks.extraction_quality import (
    TEASER,
    ZYTE_DIR,
    Prediction,
    averaged,
    in_parallel,
    ours,
    plain_trafilatura,
    sample_site_pages,
    score_all,
    score_page,
    score_snippet_page,
    score_snippets,
    tp_fp_fn,
    trafilatura_without_comments,
    vov_hints,
    zyte_pages,
)
from benchmarks.trafilatura_eval import (
    TRAFILATURA_EVAL_DIR,
    Confusion,
    SnippetPage,
    norm,
    snippet_pages,
    total,
)
from crawler.profiles import ExtractHints

need_zyte = pytest.mark.skipif(
    not (ZYTE_DIR / "evaluate.py").is_file(),
    reason=f"the Zyte benchmark is not at {ZYTE_DIR} (../shared/data beside this checkout)",
)
need_trafilatura_eval = pytest.mark.skipif(
    not (TRAFILATURA_EVAL_DIR / "evaldata.json").is_file(),
    reason=f"trafilatura's evaluation corpus is not at {TRAFILATURA_EVAL_DIR} "
           "(../shared/data beside this checkout)",
)

# A tiny hand-made case: (gold, predicted) pairs, with the counts worked out by hand.
HAND_MADE = [
    ("a b c d e", "a b c d e"),  # identical: shingles abcd, bcde both found
    ("a b c d e", "a b c d x"),  # abcd found, bcde missed, bcdx extra: 1/3 each
    ("a b", ""),  # gold shorter than a shingle is one shingle (a, b); nothing predicted
    ("", "noise words only here"),  # nothing to find, one wrong shingle
]


def test_scorer_counts_shingles_as_evaluate_py_does() -> None:
    assert tp_fp_fn(*HAND_MADE[0]) == (1.0, 0.0, 0.0)
    assert tp_fp_fn(*HAND_MADE[1]) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert tp_fp_fn(*HAND_MADE[2]) == (0.0, 0.0, 1.0)
    assert tp_fp_fn(*HAND_MADE[3]) == (0.0, 1.0, 0.0)
    # P over pages that predicted something: (1 + 1/2 + 0) / 3; R over pages with gold: (1 + 1/2 + 0) / 3
    scores = averaged([tp_fp_fn(gold, found) for gold, found in HAND_MADE])
    assert (scores.precision, scores.recall, scores.f1) == pytest.approx((0.5, 0.5, 0.5))


def load_evaluate_py() -> ModuleType:
    spec = importlib.util.spec_from_file_location("zyte_evaluate", ZYTE_DIR / "evaluate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def their_scores(evaluate: ModuleType, golds: list[str], founds: list[str]) -> tuple[float, float, float]:
    truth = {str(i): {"articleBody": gold} for i, gold in enumerate(golds)}
    prediction = {str(i): {"articleBody": found} for i, found in enumerate(founds)}
    metrics = evaluate.evaluate(truth, prediction, n_bootstrap=0)
    return metrics["f1"], metrics["precision"], metrics["recall"]


@need_zyte
def test_scorer_reproduces_evaluate_py_on_the_hand_made_case_and_five_zyte_pages() -> None:
    evaluate = load_evaluate_py()
    golds, founds = zip(*HAND_MADE, strict=True)
    mine = averaged([tp_fp_fn(gold, found) for gold, found in HAND_MADE])
    theirs = their_scores(evaluate, [*golds], [*founds])
    assert (mine.f1, mine.precision, mine.recall) == pytest.approx(theirs)

    truth = json.loads((ZYTE_DIR / "ground-truth.json").read_text(encoding="utf-8"))
    pages = zyte_pages(keys=sorted(truth)[:5])
    for extractor in (ours(ExtractHints()), plain_trafilatura):
        predictions = [extractor(page) for page in pages]
        scores = averaged([score_page(page, found).counts for page, found in zip(pages, predictions)])
        # evaluate.py scores the raw articleBody; ours, the same text one paragraph per line
        theirs = their_scores(evaluate, [truth[page.key]["articleBody"] for page in pages],
                              ["\n\n".join(found.paragraphs) for found in predictions])
        assert (scores.f1, scores.precision, scores.recall) == pytest.approx(theirs, abs=1e-12)
        assert scores.f1 > 0.8  # both really extract these pages: the comparison is not vacuous


def test_on_sample_pages_ours_is_exact_and_clean_while_plain_trafilatura_leaks() -> None:
    pages = sample_site_pages()
    legacy = [page for page in pages if "windows-1258" in (page.content_type or "")]
    chosen = pages[:4] + legacy  # the windows-1258 page decodes into combining marks
    assert len(legacy) == 1

    mine = score_all(chosen, ours(vov_hints()))
    assert averaged([score.counts for score in mine]).f1 == 1.0
    assert all(s.exact and s.title_right and s.lead_kept and not s.leaked for s in mine)

    theirs = score_all(chosen, plain_trafilatura)
    assert averaged([score.counts for score in theirs]).f1 < 0.9
    assert not any(score.lead_kept for score in theirs)
    leaked = set().union(*(score.leaked for score in theirs))
    assert {"Viết bình luận", "This site is protected by reCAPTCHA", TEASER} <= leaked


# A hand-made snippet page: white space folded on both sides, substrings case-sensitive.
SNIPPETS = SnippetPage(
    key="hand-made.html", url="https://example.org/", body=b"",
    wanted=("The  article\nbegins with", "a line and it ends here.", "the ARTICLE begins"),
    unwanted=("Imprint", "Cookie settings"),
)


def test_snippet_scorer_counts_as_trafilaturas_evaluation_does() -> None:
    # found across a paragraph break and an NBSP; "ARTICLE" is not "article"
    text = Prediction("A title", ("The article begins\u00a0 with a line", "and it ends here. Imprint"))
    score = score_snippet_page(SNIPPETS, text)
    assert score.counts == Confusion(tp=2, fp=1, fn=1, tn=1)
    assert score.missed == ("the ARTICLE begins",)
    assert score.leaked == ("Imprint",)
    assert "A title" not in score.text  # the title line is not scored, as trafilatura has none

    nothing = score_snippet_page(SNIPPETS, Prediction(None, (), "no_title"))
    assert nothing.counts == Confusion(tp=0, fp=0, fn=3, tn=2)
    assert nothing.failure == "no_title"

    # micro: counts summed over pages, then P = 2/3, R = 2/6, F1 = 2*2 / (2*2 + 1 + 4)
    summed = total([score.counts, nothing.counts])
    assert summed == Confusion(tp=2, fp=1, fn=4, tn=3)
    assert (summed.precision, summed.recall, summed.f1) == pytest.approx((2 / 3, 1 / 3, 4 / 9))


def test_pages_are_scored_in_parallel_in_their_order() -> None:
    offset = 10  # a closure: the forked workers get it as it is, unpickled
    assert in_parallel(lambda n: n + offset, list(range(25))) == [n + offset for n in range(25)]


# A few real pages: ordinary ones, and two in which our extractor found no text when this
# was written (a body declared UTF-8 that is not, and a page whose body it did not find).
REAL_FILES = ("bmjv.de.konsum.html", "bmz.de-schulze.html", "careelite.de-flaechenverbrauch.html",
              "die-partei.net.luebeck.html", "maescot.de.schafskunde.html")


@need_trafilatura_eval
def test_snippet_set_scores_both_extractors_consistently_on_real_pages() -> None:
    pages = snippet_pages(files=REAL_FILES)
    assert [page.key for page in pages] == sorted(REAL_FILES)
    for extractor in (ours(ExtractHints()), plain_trafilatura, trafilatura_without_comments):
        scores = score_snippets(pages, extractor)
        assert [score.key for score in scores] == [page.key for page in pages]
        for page, score in zip(pages, scores, strict=True):
            text = norm(score.text)
            assert score.counts.tp + score.counts.fn == len(page.wanted)
            assert score.counts.fp + score.counts.tn == len(page.unwanted)
            assert score.missed == tuple(s for s in page.wanted if not text or norm(s) not in text)
            assert score.leaked == tuple(s for s in page.unwanted if text and norm(s) in text)
            assert bool(score.failure) == (not text)
        assert total(score.counts for score in scores).tp > 0  # it really extracts: not vacuous

    # what is scored for trafilatura is its raw output, as trafilatura's evaluation scores it
    page = pages[0]
    raw = trafilatura.extract(page.body, include_comments=False)
    assert raw and norm(score_snippets([page], trafilatura_without_comments)[0].text) == norm(raw)
