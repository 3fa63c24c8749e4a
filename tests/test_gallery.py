"""The error gallery and the sample browser (apexbench.gallery) on a synthetic finished run: exact
selections, the thumbnails from the frame shards (no video opened), a composite reading its sources'
shards, and the pages in headless Chromium with a filter and a sort applied by the page's script."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pandas as pd
import pytest

import apexbench.video
from apexbench.aggregate import aggregate_set
from apexbench.browser import check_page, page_ok, screenshot
from apexbench.composite import pool_samples
from apexbench.gallery import (
    ClassifierView, browser_rows, classifier_views, face_status, most_confident_wrong, no_face_ids,
    write_set_views, wrong_by_every,
)
from apexbench.infer import PREDICTION_SCHEMA
from apexbench.labels import FER2013_ORDER, SCHEMES
from apexbench.report import read_metrics_csv, set_anchor, write_set_report
from apexbench.tables import write_parquet

from test_report import require_chromium

CLASSES = list(SCHEMES["canonical7"])
NATIVE = {"anger": "angry", "happiness": "happy", "sadness": "sad"}
N = 30
NO_FACE = {5, 17}
ERROR = {23}
CONTEMPT = {29}  # labelled contempt: outside canonical7
STATISTICS = {"bootstrap": 50, "seed": 0, "confidence_level": 0.95}
GALLERY = 4


def _label(i: int) -> str:
    return "contempt" if i in CONTEMPT else CLASSES[i % 7]


def _image(i: int, size: int, kind: int) -> bytes:
    """A distinct coloured test image (PNG) per sample and kind (0 crop, 1 onset crop, 2 frame)."""
    rng = np.random.default_rng(1000 * kind + i)
    image = cv2.resize(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), (size, size), interpolation=cv2.INTER_NEAREST)
    return cv2.imencode(".png" if kind < 2 else ".jpg", image)[1].tobytes()


def _frames(ids: list[str], numbers: list[int]) -> pd.DataFrame:
    rows = []
    for sid, i in zip(ids, numbers):
        status = "no_face" if i in NO_FACE else "error:unreadable" if i in ERROR else "ok"
        face = status == "ok"
        rows.append({"sample_id": sid, "face_status": status,
                     "face_crop": _image(i, 224, 0) if face else None,
                     "onset_crop": _image(i, 224, 1) if face and i % 2 == 0 else None,  # even: videos
                     "apex_jpeg": _image(i, 320, 2) if status != "error:unreadable" else None})
    return pd.DataFrame(rows, columns=["sample_id", "face_status", "face_crop", "onset_crop", "apex_jpeg"])


def _scores(label: str, confidence: float) -> list[float]:
    native = NATIVE.get(label, label)
    scores = [(1 - confidence) / 6] * 7
    scores[FER2013_ORDER.index(native)] = confidence
    return scores


def _confidence(name: str, i: int) -> float:
    return round(0.3 + 0.02 * i + (0.005 if name == "beta" else 0.0), 4)


def _wrong(name: str, i: int) -> bool:
    return i % 3 == 0 if name == "alpha" else i % 2 == 0


def _predictions(name: str, ids: list[str], numbers: list[int]) -> pd.DataFrame:
    rows = []
    for sid, i in zip(ids, numbers):
        if i in NO_FACE or i in ERROR:
            rows.append((sid, "no_face" if i in NO_FACE else "error:unreadable", None, None, None, np.nan))
            continue
        true = _label(i) if i not in CONTEMPT else "disgust"
        pred = CLASSES[(CLASSES.index(true) + 1) % 7] if _wrong(name, i) else true
        rows.append((sid, "ok", _scores(pred, _confidence(name, i)), NATIVE.get(pred, pred), pred, 2.0))
    return pd.DataFrame(rows, columns=PREDICTION_SCHEMA.names)


def _write_set(root, name: str, prefix: str = "", numbers=range(N)):
    """One dataset's files: samples, 2 frame shards, alpha and beta predictions (2 shards each)."""
    numbers = list(numbers)
    ids = [f"s{i:02d}" for i in numbers]
    samples = pd.DataFrame({"sample_id": ids, "subject": [f"p{i % 5}" for i in numbers],
                            "label": [_label(i) for i in numbers], "label_canonical": [_label(i) for i in numbers]},
                           dtype=object)
    write_parquet(samples, root / name / "samples.parquet")
    shards = {k: [j for j, i in enumerate(numbers) if i % 2 == k] for k in (0, 1)}
    frames = _frames(ids, numbers)
    for k, rows in shards.items():
        write_parquet(frames.iloc[rows].reset_index(drop=True), root / name / f"frames/shard-{k}.parquet")
    layout = {}
    for clf in ("alpha", "beta"):
        preds = _predictions(clf, ids, numbers)
        paths = []
        for k, rows in shards.items():
            path = root / name / f"predictions/{clf}/shard-{k}.parquet"
            write_parquet(preds.iloc[rows].reset_index(drop=True), path,
                          meta={"native_order": list(FER2013_ORDER), "contempt": "mask", "scheme": "canonical7"},
                          schema=PREDICTION_SCHEMA)
            paths.append(str(path))
        layout[clf] = [[prefix, paths]]
    layout["gamma"] = [[prefix, []]]
    frames_layout = [[prefix, [str(root / name / f"frames/shard-{k}.parquet") for k in (0, 1)]]]
    return samples, layout, frames_layout


RECORDS = {"alpha": [{"available": True}], "beta": [{"available": True}],
           "gamma": [{"available": False, "message": "put gamma.onnx in resources/models"}]}


def _aggregate(root, info, samples_path, layout):
    out = {k: root / "results" / info["name"] / v for k, v in {
        "metrics": "metrics.csv", "summary": "summary.md", "confusion": "confusion", "paired": "stats/paired.csv",
        "confidence": "stats/confidence_buckets.csv", "coverage": "stats/coverage_accuracy.csv",
        "robustness": "stats/robustness.csv"}.items()}
    with open(root / f"aggregate-{info['name']}.log", "w") as log:
        results = aggregate_set(info, samples_path, {c: {"none": g} for c, g in layout.items()}, RECORDS, STATISTICS,
                                {}, out, log)
    return out, results


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished synthetic run of one dataset `syn` (30 samples; alpha wrong on every third, beta on
    every second; 2 without a face, 1 unreadable, 1 contempt) and gamma unavailable: aggregate, then the
    browser, the gallery and the report page."""
    root = tmp_path_factory.mktemp("gallery")
    samples, layout, frames = _write_set(root, "syn")
    info = {"name": "syn", "kind": "dataset", "scheme": "canonical7", "sources": ["syn"], "cross_train": None}
    out, results = _aggregate(root, info, root / "syn/samples.parquet", layout)
    inputs = {k: out[k] for k in ("metrics", "paired", "confidence", "coverage", "robustness", "confusion")}
    inputs["samples"] = root / "syn/samples.parquet"
    page_dir = root / "results/syn"
    with open(root / "browser.log", "w") as log:
        gallery = write_set_views(inputs["samples"], info, results, frames, {"gallery": GALLERY, "browser_page": 10},
                                  page_dir / "samples.html", set_anchor("syn"), log)
    write_set_report(inputs, info, STATISTICS, {}, page_dir / "report.html", page_dir / "report/section.html",
                     gallery)
    return {"root": root, "samples": samples, "layout": layout, "frames": frames, "inputs": inputs,
            "results": results, "gallery": gallery, "page": page_dir / "report.html", "browser": page_dir / "samples.html"}


def _views(run):
    return classifier_views(run["results"])


def _expected_wrong(name):
    """Samples with a face that ``name`` got wrong, by confidence descending."""
    ids = [i for i in range(N) if _wrong(name, i) and i not in NO_FACE | ERROR | CONTEMPT]
    return [f"s{i:02d}" for i in sorted(ids, key=lambda i: -_confidence(name, i))]


def test_views_read_the_predictions_as_aggregate_does(run):
    views = {v.name: v for v in _views(run)}
    assert views["gamma"].frame is None and views["gamma"].note == "put gamma.onnx in resources/models"
    alpha = views["alpha"].frame
    assert len(alpha) == N - len(CONTEMPT)  # contempt is outside canonical7, as in the metrics
    assert alpha.loc["s03", "confidence"] == pytest.approx(_confidence("alpha", 3))
    assert not alpha.loc["s03", "correct"] and alpha.loc["s04", "correct"]
    assert alpha.loc["s05", "status"] == "no_face" and alpha.loc["s05", "confidence"] == 0
    # accuracy from the views equals aggregate's metrics
    metrics = read_metrics_csv(run["inputs"]["metrics"])
    acc = metrics[(metrics["classifier"] == "alpha") & (metrics["metric"] == "accuracy")]["value"].item()
    assert alpha["correct"].mean() == pytest.approx(acc)


def test_most_confident_wrong_predictions_in_order(run):
    views = {v.name: v for v in _views(run)}
    for name in ("alpha", "beta"):
        top = most_confident_wrong(views[name], GALLERY)
        assert list(top.index) == _expected_wrong(name)[:GALLERY]
        assert list(top["confidence"]) == sorted(top["confidence"], reverse=True)
    assert len(most_confident_wrong(views["alpha"], 1000)) == len(_expected_wrong("alpha"))


def test_no_face_and_every_classifier_wrong_strips(run):
    views = _views(run)
    status = face_status(run["frames"])
    assert status["s05"] == "no_face" and status["s23"] == "error:unreadable" and len(status) == N
    assert no_face_ids(status, run["samples"]["sample_id"]) == ["s05", "s17"]
    every = wrong_by_every(views, status)
    # wrong by alpha (i % 3 == 0) and beta (i % 2 == 0), with a face, in the scheme: i % 6 == 0
    expected = [i for i in range(N) if i % 6 == 0 and i not in NO_FACE | ERROR | CONTEMPT]
    mean = {i: (_confidence("alpha", i) + _confidence("beta", i)) / 2 for i in expected}
    assert list(every.index) == [f"s{i:02d}" for i in sorted(expected, key=lambda i: -mean[i])]
    assert every.loc["s06", "alpha"] == "neutral" and every.loc["s06", "label"] == "fear"
    assert every.loc["s06", "confidence"] == pytest.approx(mean[6])
    # only the classifiers that produced predictions count: beta alone -> everything beta got wrong
    beta_only = wrong_by_every([v for v in views if v.name != "alpha"], status)
    assert sorted(beta_only.index) == sorted(_expected_wrong("beta"))
    assert wrong_by_every([v for v in views if v.frame is None], status).empty


def test_gallery_section_shows_each_strip_with_captions(run):
    gallery = run["gallery"]
    keys = re.findall(r'data-figure="([^"]+)"', gallery)
    a = set_anchor("syn")
    expected = ([f"{a}gallery-alpha-{i}" for i in range(GALLERY)] + [f"{a}gallery-beta-{i}" for i in range(GALLERY)]
                + [f"{a}gallery-noface-{i}" for i in range(2)] + [f"{a}gallery-every-{i}" for i in range(GALLERY)])
    assert keys == expected
    assert "<b>gamma</b>: unavailable, no gallery." in gallery and "gallery-gamma" not in gallery
    first = _expected_wrong("alpha")[0]  # s27: true label, alpha's (wrong) prediction, confidence, id
    i = int(first[1:])
    figure = re.search(rf'data-figure="{a}gallery-alpha-0">(.*?)</figure>', gallery).group(1)
    assert f"<code>{first}</code>" in figure and f"true <b>{_label(i)}</b>" in figure
    assert f"{CLASSES[(CLASSES.index(_label(i)) + 1) % 7]}</b> {_confidence('alpha', i):.2f}" in figure
    assert figure.count("<img") == (2 if i % 2 == 0 else 1)  # the onset crop where the sample has one
    noface = re.search(rf'data-figure="{a}gallery-noface-0">(.*?)</figure>', gallery).group(1)
    assert noface.count("<img") == 1 and "full frame" in noface and "<code>s05</code>" in noface
    assert "../syn/samples.html" in gallery
    n_wrong = len([i for i in range(N) if _wrong("alpha", i) and i not in NO_FACE | ERROR | CONTEMPT])
    assert f"alpha: {n_wrong} wrong of {N - 1} samples; the {GALLERY} most confident" in gallery


def test_gallery_thumbnails_are_small_jpegs_from_the_stored_crops(run):
    import base64

    uris = re.findall(r'src="data:image/jpeg;base64,([^"]+)"', run["gallery"])
    sizes = set()
    for uri in uris:
        image = cv2.imdecode(np.frombuffer(base64.b64decode(uri), np.uint8), cv2.IMREAD_COLOR)
        sizes.add(image.shape[:2])
    assert sizes == {(96, 96), (128, 128)}  # crops at 96 px, the no-face frames at 128 px


def test_thumbnails_are_reencoded_small_jpegs():
    import base64

    from apexbench.gallery import thumbnail

    rng = np.random.default_rng(5)
    gray = rng.integers(0, 256, (48, 48), dtype=np.uint8)
    small = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    big = cv2.imencode(".jpg", rng.integers(0, 256, (200, 100, 3), dtype=np.uint8))[1].tobytes()
    png = cv2.imencode(".png", gray)[1].tobytes()
    cases = ((small, 96, (48, 48)), (big, 96, (96, 48, 3)), (png, 96, (48, 48)), (small, 24, (24, 24)))
    for data, size, shape in cases:
        out = base64.b64decode(thumbnail(data, size))
        assert out != data and out.startswith(b"\xff\xd8\xff")
        assert cv2.imdecode(np.frombuffer(out, np.uint8), cv2.IMREAD_UNCHANGED).shape == shape
    assert len(base64.b64decode(thumbnail(small, 96))) < len(small)  # quality 75: fewer bytes than the source
    assert thumbnail(b"\xff\xd8\xffnot a jpeg", 96) == "" and thumbnail(None, 96) == ""


def test_thumbnails_of_the_wanted_samples_only(run):
    from apexbench.gallery import thumbnails

    every = thumbnails(run["frames"], dict.fromkeys(run["samples"]["sample_id"].astype(str), 96))
    assert len(every) == N
    shards = [p for _, paths in run["frames"] for p in paths]
    first = set(pd.read_parquet(shards[0], columns=["sample_id"])["sample_id"].astype(str))
    # some samples, none of them in the first shard (a shard with nothing wanted is skipped)
    wanted = {sid: 96 for sid in sorted(set(every) - first)[:3]}
    assert len(shards) > 1 and len(wanted) == 3
    assert thumbnails(run["frames"], wanted) == {sid: every[sid] for sid in wanted}
    assert thumbnails(run["frames"], {}) == {}


def test_report_page_holds_the_gallery_and_links_the_browser(run):
    page = run["page"].read_text()
    section = (run["page"].parent / "report/section.html").read_text()
    assert run["gallery"] in section and run["gallery"] in page
    assert page.index("id='set-syn-confusion'") < page.index("id='set-syn-gallery'") < page.index("id='set-syn-recall'")
    assert "href='../syn/samples.html'>Sample browser</a>" in page


def test_browser_rows_hold_every_sample(run):
    views = _views(run)
    status = face_status(run["frames"])
    samples = run["samples"]
    thumbs = {"s03": ("A", "O")}
    rows = {r[0]: r for r in browser_rows(samples, views, status, "canonical7", thumbs)}
    assert len(rows) == N
    # id, subject, source, label, face, apex, onset, then (pred, conf, status) for alpha and beta
    assert rows["s03"] == ["s03", "p3", "", "sadness", "ok", "A", "O", "anger", round(_confidence("alpha", 3), 3),
                           "ok", "sadness", round(_confidence("beta", 3), 3), "ok"]
    assert rows["s05"][4:] == ["no_face", "", "", "", None, "no_face", "", None, "no_face"]
    assert rows["s29"][3] is None and rows["s29"][7:] == [None] * 6  # contempt: outside the scheme


def test_the_browser_page_is_self_contained(run):
    page = run["browser"].read_text()
    assert not re.search(r"""(src|href)=["'](https?:|//|file:)""", page), "the browser must not load anything"
    assert "<script src" not in page
    data = re.search(r"<script type='application/json' id='apexbench-data'>(.*?)</script>", page, re.S).group(1)
    import json

    data = json.loads(data)
    assert data["classifiers"] == ["alpha", "beta"] and len(data["rows"]) == N and data["page_size"] == 10
    assert [r[0] for r in data["rows"]] == sorted(r[0] for r in data["rows"])
    assert sum(bool(r[5]) for r in data["rows"]) == N - 1  # every sample but the unreadable one has a picture
    assert "No predictions from <b title='put gamma.onnx in resources/models'>gamma</b> (unavailable)" in page
    log = (run["root"] / "browser.log").read_text()
    assert re.search(r"\[browser\] syn: 30 samples, [\d.]+ MB", log)


def test_building_opens_no_video(run, monkeypatch, tmp_path):
    """The thumbnails come from the frame shards: with every way to decode a video or read a media
    file broken, the gallery and browser are built the same."""
    def refuse(*args, **kwargs):
        raise AssertionError("a video or media file was opened")

    monkeypatch.setattr(cv2, "VideoCapture", refuse)
    for name in ("read_frames", "read_image", "open_video"):
        if hasattr(apexbench.video, name):
            monkeypatch.setattr(apexbench.video, name, refuse)
    info = {"name": "syn", "kind": "dataset", "scheme": "canonical7"}
    gallery = write_set_views(run["inputs"]["samples"], info, run["results"], run["frames"],
                              {"gallery": GALLERY, "browser_page": 10}, tmp_path / "samples.html", set_anchor("syn"))
    assert gallery == run["gallery"]
    assert (tmp_path / "samples.html").read_bytes() == run["browser"].read_bytes()


def test_a_composite_reads_its_sources_frame_shards(tmp_path):
    """Two sources pooled: ids prefixed, thumbnails from each source's own shards, labels and the
    off-the-shelf predictions under the composite's scheme (megc3)."""
    layout, frames, tables = {"alpha": [], "beta": [], "gamma": []}, [], []
    for name, numbers in (("d1", range(0, 14)), ("d2", range(14, 28))):
        samples, lay, fr = _write_set(tmp_path, name, prefix=f"{name}/", numbers=numbers)
        tables.append((name, samples))
        for clf in layout:
            layout[clf] += lay[clf]
        frames += fr
    pooled = pool_samples(tables)
    write_parquet(pooled, tmp_path / "pool.parquet")
    info = {"name": "pool", "kind": "composite", "scheme": "megc3", "sources": ["d1", "d2"], "cross_train": None}
    _, results = _aggregate(tmp_path, info, tmp_path / "pool.parquet", layout)
    gallery = write_set_views(tmp_path / "pool.parquet", info, results, frames, {"gallery": 3},
                              tmp_path / "pool.html", set_anchor("pool"))
    assert "<code>d2/s17</code>" in gallery  # d2's no-face sample, its frame from d2's shard
    page = (tmp_path / "pool.html").read_text()
    import json

    data = json.loads(re.search(r"id='apexbench-data'>(.*?)</script>", page, re.S).group(1))
    rows = {r[0]: r for r in data["rows"]}
    assert len(rows) == 28 and data["sources"] and data["labels"] == ["negative", "positive", "surprise"]
    assert rows["d1/s01"][2] == "d1" and rows["d2/s16"][2] == "d2" and rows["d2/s16"][5]
    # megc3: neutral (s00, s07, ...) is outside the scheme; happiness -> positive
    assert rows["d1/s00"][3] is None and rows["d1/s01"][3] == "positive"
    assert {r[7] for r in data["rows"] if r[9] == "ok"} <= {"negative", "positive", "surprise"}


# --- in the browser --------------------------------------------------------------------------------


def test_browser_page_in_chromium_default_view(run):
    require_chromium()
    result = check_page(run["browser"])
    assert page_ok(result), result["errors"]
    attrs = result["attributes"]
    assert attrs["data-browser"] == "ready" and attrs["data-total"] == str(N) and attrs["data-matched"] == str(N)
    assert attrs["data-page"] == "1/3" and result["visible"] == [f"s{i:02d}" for i in range(10)]
    # every thumbnail of the page decodes: APEX for all, onset for the even ones with a face
    assert result["figures_total"] == 10 + len([i for i in range(10) if i % 2 == 0 and i not in NO_FACE])
    assert result["figures_ok"] == result["figures_total"]


def test_browser_page_in_chromium_applies_a_filter_and_a_sort(run):
    require_chromium()
    result = check_page(run["browser"], "wrong=alpha&sort=conf:alpha&dir=desc")
    assert page_ok(result), result["errors"]
    assert result["visible"] == _expected_wrong("alpha")[:10]
    # failures (no face, unreadable) count as wrong, as in the metrics; they sort last (no confidence)
    assert result["attributes"]["data-matched"] == str(len(_expected_wrong("alpha")) + len(NO_FACE | ERROR))
    # a text filter and a label filter, sorted by beta's prediction then id; page 2 of the unfiltered
    result = check_page(run["browser"], "q=s1&face=ok&sort=pred:beta")
    beta = {f"s{i:02d}": CLASSES[(CLASSES.index(_label(i)) + 1) % 7] if _wrong("beta", i) else _label(i)
            for i in range(10, 20) if i not in NO_FACE}
    assert result["visible"] == sorted(beta, key=lambda s: (beta[s], s))
    result = check_page(run["browser"], "label=happiness&wrong=*every")
    assert result["visible"] == [f"s{i:02d}" for i in range(N) if _label(i) == "happiness" and i % 6 == 0
                                 and i not in NO_FACE | ERROR]
    result = check_page(run["browser"], "page=3")
    assert result["visible"] == [f"s{i:02d}" for i in range(20, 30)] and result["attributes"]["data-page"] == "3/3"
    assert result["figures_ok"] == result["figures_total"] > 0


def test_report_page_with_the_gallery_in_chromium(run, tmp_path):
    require_chromium()
    result = check_page(run["page"])
    assert page_ok(result), result["errors"]
    n_gallery = len(re.findall(r"gallery-", " ".join(result["figure_keys"])))
    assert n_gallery == 2 * GALLERY + 2 + GALLERY and result["figures_ok"] == result["figures_total"]
    assert screenshot(run["browser"], tmp_path / "browser.png", height=1500).stat().st_size > 20_000


def test_browser_check_fails_when_the_script_is_broken(run, tmp_path):
    """A bug in the browser's script (an error thrown while rendering) is reported, and the page is
    not ready; a script that stops silently leaves it not ready too."""
    require_chromium()
    page = run["browser"].read_text()
    broken = tmp_path / "broken.html"
    broken.write_text(page.replace("function rowHtml(r, i) {", "function rowHtml(r, i) { undefinedHelper();", 1))
    result = check_page(broken)
    assert "undefinedHelper" in result["errors"] and result["visible"] is None and not page_ok(result)
    silent = tmp_path / "silent.html"
    silent.write_text(page.replace("  render(readState());\n", "", 1))
    result = check_page(silent)
    assert result["errors"] == "" and result["attributes"]["data-browser"] == "pending" and not page_ok(result)
    bad_image = tmp_path / "bad_image.html"
    first = re.search(r'"(s00)","p0","","neutral","ok","([^"]+)"', page)
    bad_image.write_text(page.replace(first.group(2), "AAAA", 1))
    result = check_page(bad_image)
    assert result["figures_ok"] == result["figures_total"] - 1 and not page_ok(result)


def test_a_set_without_samples_gets_an_empty_gallery_and_browser(tmp_path):
    """A dataset whose every row was rejected: empty shards, the pages still build (and open)."""
    samples, layout, frames = _write_set(tmp_path, "ghost", numbers=[])
    info = {"name": "ghost", "kind": "dataset", "scheme": "canonical7", "sources": ["ghost"], "cross_train": None}
    _, results = _aggregate(tmp_path, info, tmp_path / "ghost/samples.parquet", layout)
    gallery = write_set_views(tmp_path / "ghost/samples.parquet", info, results, frames, {}, tmp_path / "ghost.html",
                              set_anchor("ghost"))
    assert "alpha: 0 wrong of 0 samples" in gallery and "No face found: 0 sample(s)" in gallery
    assert "data-figure" not in gallery
    require_chromium()
    result = check_page(tmp_path / "ghost.html", "wrong=alpha")
    assert page_ok(result) and result["visible"] == [] and result["attributes"]["data-total"] == "0"


def test_views_of_classifiers_without_predictions_only():
    """A set where no classifier ran: no strip but the notes."""
    views = [ClassifierView("x", note="unavailable: put x.onnx")]
    status = pd.Series({"a": "ok"})
    assert wrong_by_every(views, status).empty
