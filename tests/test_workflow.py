"""Real Snakemake runs of the demo in a temporary directory: outputs, contracts and caching."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import accuracy_score

from apexbench.datasets.base import shard_of
from apexbench.extract import decode_image
from apexbench.labels import NO_PREDICTION
from apexbench.metrics import METRIC_COLUMNS
from apexbench.tables import read_meta, read_parquet

from model_builders import deepface_emotion_like, ferplus_like
from workflow_helpers import edit_config, make_workdir, planned_job_targets, planned_jobs, snakemake

pytestmark = pytest.mark.slow
REPO_REPORT = Path(__file__).resolve().parents[1] / "workflow" / "report"
DEMO_RUN: dict = {}  # what the demo fixture saw on its way

ALL_CLASSIFIERS = {"ferplus", "minixception", "deepface", "deepface_native", "libreface"}
# What reruns after anything of the demo's one dataset changed: its aggregate (with its report page),
# the run's leaderboard and the index report.
DOWNSTREAM = {"aggregate": 1, "leaderboard": 1, "all": 1}


def ran(proc, rule: str) -> list[str]:
    """Outputs of the jobs of ``rule`` that a finished run executed (from its job listing)."""
    text = proc.stdout + proc.stderr
    blocks = re.split(r"\n(?=\[\w{3} \w{3} )", text)
    outputs = []
    for block in blocks:
        if re.search(rf"^(local)?(rule|checkpoint) {rule}:", block, re.M):
            match = re.search(r"output: (.*)", block)
            outputs.append(match.group(1).strip() if match else "")
    return sorted(outputs)


@pytest.fixture(scope="module")
def models_mirror(tmp_path_factory, mirror_dir):
    """The wheels mirror plus a model with the signature of DeepFace's emotion ONNX, stored flat."""
    mirror = tmp_path_factory.mktemp("models_mirror")
    for path in mirror_dir.iterdir():
        shutil.copy(path, mirror / path.name)
    weights = np.random.default_rng(11).normal(0, 0.05, size=(2304, 7))
    deepface_emotion_like(mirror / "facial_expression_model_weights.onnx", weights)
    return mirror


@pytest.fixture(scope="module")
def demo(tmp_path_factory, models_mirror):
    """The default config (every classifier) run with `snakemake results/metrics.csv`, then the default
    target, offline: mini-Xception and DeepFace resolve from the mirror; FER+ and LibreFace are
    unavailable. The plan left after the first run is kept for the test."""
    workdir = make_workdir(tmp_path_factory.mktemp("demo"),
                           {"models": {"mirror": str(models_mirror), "download": False}})
    proc = snakemake(workdir, "--cores", "2", "results/metrics.csv")
    DEMO_RUN["final_message"] = proc.stdout + proc.stderr
    DEMO_RUN["plan_after_metrics"] = planned_jobs(workdir)
    snakemake(workdir, "--cores", "2")
    return workdir


def _config(workdir):
    return yaml.safe_load((workdir / "config" / "config.yaml").read_text())


def test_metrics_target_alone_builds_everything_and_a_rerun_does_nothing(demo):
    assert DEMO_RUN["plan_after_metrics"] == {}  # the report index is the leaderboard job's output too
    assert "Report: results/report/index.html" in DEMO_RUN["final_message"]
    assert planned_jobs(demo) == {}
    proc = snakemake(demo, "--dry-run", "--cores", "2")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_every_extraction_and_weight_file_comes_before_any_inference(demo):
    """Extraction and fetch_model have the higher priority: with shards of equal size the inference jobs
    then run in full waves instead of one core waiting for a late shard at the end."""
    starts = re.findall(r"^(?:local)?(?:rule|checkpoint) (\w+):", DEMO_RUN["final_message"], re.M)
    infer = [i for i, rule in enumerate(starts) if rule == "infer"]
    upstream = [i for i, rule in enumerate(starts) if rule in ("extract", "fetch_model")]
    assert len(infer) >= 4 and starts.count("extract") == 4
    assert max(upstream) < min(infer), starts


def test_long_steps_log_their_progress(demo):
    """extract and infer print `[step] done/total unit (rate/s)`; the totals add up to the run's samples."""
    samples = pd.read_parquet(demo / "results/demo/validated/samples.parquet")
    line = re.compile(r"^\[(extract|infer)\] (\d+)/(\d+) (samples|faces) \(\d+\.\d/s\)$", re.M)
    extracted = [line.findall((demo / f"logs/demo/extract/shard-{k}.log").read_text())[-1] for k in range(4)]
    assert all(done == total for _, done, total, _ in extracted)
    assert sum(int(total) for _, _, total, _ in extracted) == len(samples)
    inferred = [line.findall(log.read_text()) for log in sorted((demo / "logs/demo/infer/minixception").glob("*.log"))]
    assert len(inferred) == 4 and all(found and found[-1][1] == found[-1][2] for found in inferred)


def test_validation_rejects_the_deliberate_bad_row(demo):
    rejected = pd.read_csv(demo / "results/demo/validated/rejected.csv")
    assert rejected[["sample_id", "reason"]].values.tolist() == [["bad_apex_past_end", "index_out_of_range"]]
    summary = (demo / "results/demo/validated/summary.md").read_text()
    assert "| index_out_of_range | 1 |" in summary and "| Emotion | Count | Percentage |" in summary
    samples = read_parquet(demo / "results/demo/validated/samples.parquet")
    assert len(samples) == 12 and samples["subject"].nunique() == 7
    assert set(samples.loc[samples["source"].str.endswith(".jpg"), "kind"]) == {"image"}


def test_frame_shards_follow_the_contract(demo):
    frames = pd.concat([read_parquet(demo / f"results/demo/frames/shard-{k}.parquet") for k in range(4)])
    frames = frames.set_index("sample_id")
    for column in ("apex_jpeg", "onset_jpeg", "face_box", "face_score", "face_crop", "onset_crop", "shard"):
        assert column in frames.columns
    noface = frames.loc["noface_clip"]
    assert noface["face_status"] == "no_face" and noface["face_box"] is None and noface["face_crop"] is None
    faces = frames.drop(index="noface_clip")
    assert (faces["face_status"] == "ok").all()
    for sample_id, row in faces.iterrows():
        crop = decode_image(row["face_crop"])
        assert crop.shape == (224, 224, 3)
        apex = decode_image(row["apex_jpeg"])
        assert apex.shape[:2] == (row["height"], row["width"])
        if row["kind"] == "video":
            assert decode_image(row["onset_crop"]).shape == (224, 224, 3)
        else:
            assert row["onset_jpeg"] is None
        assert (frames.loc[sample_id, "shard"]) == shard_of(sample_id, 4)


def test_apex_frame_is_the_annotated_frame(demo, demo_media):
    """The stored APEX of a clip equals the frame decoded sequentially up to that index."""
    frames = pd.concat([read_parquet(demo / f"results/demo/frames/shard-{k}.parquet") for k in range(4)])
    row = frames.set_index("sample_id").loc["man1_happy"]
    cap = cv2.VideoCapture(str(demo_media / "single_face.mp4"))
    decoded = [cap.read()[1] for _ in range(row["apex"] + 2)]
    stored = decode_image(row["apex_jpeg"]).astype(float)
    errors = [np.abs(stored - f.astype(float)).mean() for f in decoded]
    assert int(np.argmin(errors)) == row["apex"] and errors[row["apex"]] < 2.0


def test_metrics_follow_the_contract_and_match_the_predictions(demo):
    metrics = pd.read_csv(demo / "results/metrics.csv", keep_default_na=False, na_values=[""])
    assert list(metrics.columns) == METRIC_COLUMNS
    assert set(metrics["classifier"]) == ALL_CLASSIFIERS
    ferplus = metrics[metrics["classifier"] == "ferplus"]
    assert ferplus["metric"].tolist() == ["unavailable"]
    assert "emotion-ferplus-8.onnx" in ferplus["note"].iloc[0] and "resources/models" in ferplus["note"].iloc[0]
    libreface = metrics[metrics["classifier"] == "libreface"]
    assert libreface["metric"].tolist() == ["unavailable"]
    assert "libreface/repvgg.pt" in libreface["note"].iloc[0]
    assert "gdown 1yPBUjPhkwcIkRLt47-JJRLRD7rCwPIVU" in libreface["note"].iloc[0]

    mini = metrics[(metrics["classifier"] == "minixception") & metrics["class"].isna()].set_index("metric")
    samples = read_parquet(demo / "results/demo/validated/samples.parquet").set_index("sample_id")
    preds = pd.concat([read_parquet(demo / f"results/demo/predictions/minixception/shard-{k}.parquet") for k in range(4)])
    y_true = samples.loc[preds["sample_id"], "label_canonical"].tolist()
    y_pred = [p if s == "ok" else NO_PREDICTION for p, s in zip(preds["pred_canonical"], preds["status"])]
    assert mini.loc["accuracy", "value"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert mini.loc["coverage", "value"] == pytest.approx(11 / 12)
    assert mini.loc["accuracy", "n"] == 12
    assert preds.set_index("sample_id").loc["noface_clip", "status"] == "no_face"
    meta = read_meta(demo / "results/demo/predictions/minixception/shard-0.parquet")
    assert meta["native_order"] == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    confusion = pd.read_csv(demo / "results/demo/confusion/minixception.csv")
    assert confusion.drop(columns="true").to_numpy().sum() == 12
    assert (demo / "results/demo/confusion/minixception.png").stat().st_size > 1000
    summary = (demo / "results/summary.md").read_text()
    assert "ferplus" in summary and "emotion-ferplus-8.onnx" in summary
    assert "libreface" in summary and "repvgg.pt" in summary


def test_deepface_runs_on_the_shared_crops_and_as_shipped(demo):
    metrics = pd.read_csv(demo / "results/metrics.csv", keep_default_na=False, na_values=[""])
    overall = metrics[metrics["class"].isna()].set_index(["classifier", "metric"])["value"]
    crops = pd.concat([read_parquet(demo / f"results/demo/predictions/deepface/shard-{k}.parquet") for k in range(4)])
    assert (crops["status"] == "ok").sum() == 11 and overall["deepface", "coverage"] == pytest.approx(11 / 12)
    assert read_meta(demo / "results/demo/predictions/deepface/shard-0.parquet")["native_order"][0] == "angry"
    native = pd.concat([read_parquet(demo / f"results/demo/predictions/deepface_native/shard-{k}.parquet")
                        for k in range(4)]).set_index("sample_id")
    # DeepFace's own OpenCV detector on the full APEX frames: it finds the faces of the stills.
    assert set(native["status"]) <= {"ok", "no_face"}
    assert (native.loc[["f1_surprise", "f15_happy", "m7_disgust"], "status"] == "ok").all()
    assert overall["deepface_native", "coverage"] == pytest.approx((native["status"] == "ok").mean())
    provenance = yaml.safe_load((demo / "results/provenance.json").read_text())
    assert provenance["models"]["deepface"]["available"] is True
    assert provenance["models"]["libreface"]["available"] is False


def _with_config(workdir, changes):
    original = (workdir / "config/config.yaml").read_text()
    edit_config(workdir, changes)
    return original


def test_changing_one_classifier_reruns_only_its_inference_and_aggregation(demo):
    original = _with_config(demo, {"classifiers": {**_config(demo)["classifiers"],
                                                   "minixception": {"kind": "minixception", "batch_size": 5}}})
    try:
        assert planned_jobs(demo) == {"infer": 4, **DOWNSTREAM}
        targets = planned_job_targets(demo, "infer")
        assert all("predictions/minixception/" in t for t in targets)
    finally:
        (demo / "config/config.yaml").write_text(original)


def test_changing_one_row_reextracts_only_its_shard(demo):
    table = demo / "config/demo/annotations.csv"
    original = table.read_text()
    table.write_text(original.replace("woman1_sad_1,woman1,WolfgangLanger_Pexels.mp4,14,41,57",
                                      "woman1_sad_1,woman1,WolfgangLanger_Pexels.mp4,14,42,57"))
    try:
        jobs = planned_jobs(demo)
        # convert picks its check samples inside the job: a changed row does not reconvert LibreFace.
        # only the three classifiers that can run infer (FER+ and LibreFace are unavailable)
        assert jobs == {"extract": 1, "validate": 1, "infer": 3, **DOWNSTREAM}
        shard = shard_of("woman1_sad_1", 4)
        targets = planned_job_targets(demo, "extract")
        assert len(targets) == 1 and f"results/demo/frames/shard-{shard}.parquet" in targets[0]
    finally:
        table.write_text(original)


def test_editing_package_code_reruns_only_the_jobs_that_run_it(demo):
    module = demo / "src/apexbench/stats.py"  # reached by the aggregate script only
    original = module.read_text()
    try:
        module.write_text(original + "\n# a comment changes nothing\n")
        assert planned_jobs(demo) == {}
        module.write_text(original + "\n\ndef _unused():\n    return None\n")
        assert planned_jobs(demo) == DOWNSTREAM  # aggregate and leaderboard import it
    finally:
        module.write_text(original)
    assert planned_jobs(demo) == {}


def test_adding_a_classifier_runs_only_its_branch(demo):
    original = _with_config(demo, {"classifiers": {**_config(demo)["classifiers"],
                                                   "mini2": {"kind": "minixception", "batch_size": 8}}})
    try:
        assert planned_jobs(demo) == {"infer": 4, **DOWNSTREAM}
        assert all("predictions/mini2/" in t for t in planned_job_targets(demo, "infer"))
    finally:
        (demo / "config/config.yaml").write_text(original)


def test_bad_config_stops_with_one_line(demo):
    proc = snakemake(demo, "--dry-run", "--config", "shards=many", check=False)
    assert proc.returncode != 0
    assert "apexbench: error: config: shards: 'many' does not match '^auto$'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_report_of_the_demo_opens_in_chromium(demo):
    from test_report import require_chromium
    from apexbench.browser import check_page

    metrics = pd.read_csv(demo / "results/metrics.csv", keep_default_na=False, na_values=[""])
    acc = metrics[(metrics["classifier"] == "minixception") & (metrics["metric"] == "accuracy")].iloc[0]
    assert acc["perturbation"] == "none" and acc["ci_low"] <= acc["value"] <= acc["ci_high"]
    require_chromium()
    result = check_page(demo / "results/report/index.html")
    assert result["errors"] == "" and result["figures_ok"] == result["figures_total"] >= 5


def _browser_data(path):
    import json

    text = path.read_text()
    return json.loads(re.search(r"<script type='application/json' id='apexbench-data'>(.*?)</script>", text,
                                re.S).group(1))


def test_gallery_and_sample_browser_of_the_demo(demo):
    """The demo's report shows the error gallery (mini-Xception's and DeepFace's wrong predictions as
    crops, noface_clip's full frame), and results/demo/samples.html applies a filter and a sort in
    Chromium: the samples mini-Xception got wrong, most confident first, as the prediction files say."""
    from test_report import require_chromium
    from apexbench.browser import check_page, page_ok
    from apexbench.confidence import prediction_confidence

    page = (demo / "results/demo/report.html").read_text()
    assert "id='set-demo-gallery'" in page and "href='../demo/samples.html'>Sample browser</a>" in page
    for name in ("ferplus", "libreface"):
        assert f"<b>{name}</b>: unavailable, no gallery." in page
    assert "data-figure=\"set-demo-gallery-noface-0\"" in page and "<code>noface_clip</code>" in page
    index = (demo / "results/report/index.html").read_text()
    assert "<a href='../demo/samples.html'>samples</a>" in index and "id='set-demo-gallery'" in index
    data = _browser_data(demo / "results/demo/samples.html")
    assert data["classifiers"] == ["minixception", "deepface", "deepface_native"] and len(data["rows"]) == 12
    # the expected view, from the prediction files and the confidence's definition
    samples = read_parquet(demo / "results/demo/validated/samples.parquet").set_index("sample_id")
    preds = pd.concat([read_parquet(demo / f"results/demo/predictions/minixception/shard-{k}.parquet")
                       for k in range(4)]).set_index("sample_id").loc[sorted(samples.index)]
    ok = (preds["status"] == "ok").to_numpy()
    order = read_meta(demo / "results/demo/predictions/minixception/shard-0.parquet")["native_order"]
    conf = prediction_confidence(list(preds["scores"]), ok, order, "canonical7")
    wrong = [(sid, c, k) for sid, c, k, p in zip(preds.index, conf, ok, preds["pred_canonical"])
             if not k or p != samples.loc[sid, "label_canonical"]]
    assert any(k for _, _, k in wrong), "the demo has wrong predictions"
    # the gallery: wrong predictions by confidence (failures are not in its strip); the browser: by
    # confidence as stored (3 decimals), failures last, ties by sample id
    gallery = re.findall(r'data-figure="set-demo-gallery-minixception-\d+">.*?<code>([^<]+)</code>', page)
    assert gallery == [sid for _, sid in sorted((-c, sid) for sid, c, k in wrong if k)][:24]
    browsed = [sid for _, sid in sorted((-round(c, 3) if k else 1, sid) for sid, c, k in wrong)]
    require_chromium()
    result = check_page(demo / "results/demo/samples.html", "wrong=minixception&sort=conf:minixception&dir=desc")
    assert page_ok(result), result["errors"]
    assert result["visible"] == browsed
    assert result["figures_ok"] == result["figures_total"] > 0
    result = check_page(demo / "results/demo/samples.html", "q=woman1&sort=id&dir=desc")
    assert result["visible"] == sorted((s for s in samples.index if "woman1" in s), reverse=True)
    result = check_page(demo / "results/demo/report.html")
    assert page_ok(result) and result["figures_ok"] == result["figures_total"]


def test_snakemake_report_zip_after_the_run(demo, tmp_path):
    """`snakemake --report report.zip` works after a run: the zip holds metrics.csv, the leaderboard,
    the confusion plots, the HTML report and sample browser, and every caption's text."""
    import zipfile

    snakemake(demo, "--report", str(tmp_path / "report.zip"))
    with zipfile.ZipFile(tmp_path / "report.zip") as archive:
        names = archive.namelist()
        html = archive.read("report/report.html").decode()
    for name in ("metrics.csv", "leaderboard.csv", "minixception.png", "deepface.png", "index.html", "report.html",
                 "samples.html"):
        assert any(n.startswith("report/data/raw/") and n.endswith("/" + name) for n in names), (name, names)
    captions = {"metrics.rst": "Every number of every evaluation set", "leaderboard.rst": "The leaderboard: one row",
                "confusion.rst": "rows are the true class", "index.rst": "own report, one self-contained HTML",
                "set_report.rst": "The report page of evaluation set", "samples.rst": "The sample browser of evaluation"}
    for rst, phrase in captions.items():
        assert phrase in (REPO_REPORT / rst).read_text().replace("\n", " ")
        assert phrase in html, rst
    # a caption's wildcards are filled in: one per confusion plot
    assert "Confusion matrix of classifier <tt class=\\\"docutils literal\\\">minixception</tt>" in html


def test_a_perturbation_adds_only_its_own_branch(demo):
    original = _with_config(demo, {"perturbations": ["none", "blur"]})
    try:
        # the three classifiers that can run, on 4 shards each
        assert planned_jobs(demo) == {"extract_perturbed": 4, "infer_perturbed": 12, **DOWNSTREAM}
        targets = planned_job_targets(demo, "extract_perturbed")
        assert targets == [f"results/demo/perturbed/blur/frames/shard-{k}.parquet" for k in range(4)]
    finally:
        (demo / "config/config.yaml").write_text(original)
    assert planned_jobs(demo) == {}


def test_annotate_multi_face_finds_all_five_faces(demo):
    import json

    snakemake(demo, "--cores", "2", "results/annotate/multi_face.json", "results/annotate/45-m7-di-ph.json")
    result = json.loads((demo / "results/annotate/multi_face.json").read_text())
    assert result["file"] == "multi_face.jpg" and result["threshold"] == 0.4
    assert len(result["faces"]) == 5 and [f["id"] for f in result["faces"]] == list(range(5))
    for face in result["faces"]:
        assert set(face) >= {"id", "emotion", "score", "bbox"} and len(face["bbox"]) == 4
        assert face["emotion"] is None or face["score"] >= 0.4
    assert any(face["emotion"] is not None for face in result["faces"])
    assert len(json.loads((demo / "results/annotate/45-m7-di-ph.json").read_text())["faces"]) == 1
    image = cv2.imread(str(demo / "results/annotate/multi_face.png"))
    original = cv2.imread(str(demo / "resources/demo/media/multi_face.jpg"))
    assert image.shape == original.shape == (667, 1000, 3)
    for face in result["faces"]:  # each face's box is drawn: its top edge no longer looks like the photo
        x, y, w, h = (int(round(v)) for v in face["bbox"])
        edge = (slice(max(y, 0), max(y, 0) + 2), slice(max(x, 0), x + w))
        assert np.abs(image[edge].astype(int) - original[edge].astype(int)).mean() > 20, face["id"]


def test_annotate_video_writes_an_mp4_with_every_frame(demo):
    import json

    original = _with_config(demo, {"annotate": {"every": 4}})
    try:
        snakemake(demo, "--cores", "2", "results/annotate/single_face.json")
    finally:
        (demo / "config/config.yaml").write_text(original)
    result = json.loads((demo / "results/annotate/single_face.json").read_text())
    assert result["kind"] == "video" and result["every"] == 4
    assert [f["frame"] for f in result["frames"]] == list(range(0, result["n_frames"], 4))
    assert all(len(f["faces"]) == 1 and f["faces"][0]["id"] == 0 for f in result["frames"])
    cap = cv2.VideoCapture(str(demo / "results/annotate/single_face.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == result["n_frames"]
    cap.release()
    log = (demo / "logs/annotate/single_face.log").read_text()
    done = re.findall(r"^\[annotate\] single_face.mp4: (\d+)/\d+ frames \(", log, re.M)
    assert done and int(done[-1]) == result["n_frames"], log


def test_placing_the_missing_weights_picks_up_the_classifier(demo, tmp_path):
    """Near last: the FER+ weights appear (a model with FER+'s signature); the same command runs only FER+."""
    weights = np.random.default_rng(0).normal(0, 1e-4, size=(4096, 8))
    model = ferplus_like(tmp_path / "emotion-ferplus-8.onnx", weights)
    shutil.copy(model, demo / "resources/models/emotion-ferplus-8.onnx")
    # fetch_model is a checkpoint: the dry run stops there; the run then adds FER+'s 4 infer jobs only
    assert planned_jobs(demo) == {"fetch_model": 1, **DOWNSTREAM}
    proc = snakemake(demo, "--cores", "2")
    assert ran(proc, "infer") == [f"results/demo/predictions/ferplus/shard-{k}.parquet" for k in range(4)]
    metrics = pd.read_csv(demo / "results/metrics.csv", keep_default_na=False, na_values=[""])
    ferplus = metrics[(metrics["classifier"] == "ferplus") & metrics["class"].isna()].set_index("metric")
    assert "unavailable" not in ferplus.index
    assert ferplus.loc["coverage", "value"] == pytest.approx(11 / 12)
    assert planned_jobs(demo) == {}


def test_placing_the_libreface_checkpoint_converts_and_runs_it(demo, models_mirror, tmp_path):
    """Last: a checkpoint in LibreFace's format (random weights) appears in the mirror; the same
    command resolves it, converts it (torch vs onnxruntime checked on the demo crops) and runs it."""
    convert = pytest.importorskip("apexbench.convert")
    pytest.importorskip("torch", reason="the conversion extra (requirements-convert.txt) is not installed")
    convert.save_libreface_checkpoint(convert.build_libreface_net(seed=0), models_mirror / "repvgg.pt")
    assert planned_jobs(demo) == {"fetch_model": 1, **DOWNSTREAM}
    proc = snakemake(demo, "--cores", "2")
    assert len(ran(proc, "convert")) == 1
    assert ran(proc, "infer") == [f"results/demo/predictions/libreface/shard-{k}.parquet" for k in range(4)]
    record = yaml.safe_load((demo / "resources/models/converted/libreface.json").read_text())
    assert record["available"] and record["max_abs_diff"] < 1e-4 and record["n_crops"] == 11
    assert (demo / "resources/models/libreface/repvgg.pt").is_file()
    metrics = pd.read_csv(demo / "results/metrics.csv", keep_default_na=False, na_values=[""])
    libreface = metrics[(metrics["classifier"] == "libreface") & metrics["class"].isna()].set_index("metric")
    assert "unavailable" not in libreface.index
    assert libreface.loc["coverage", "value"] == pytest.approx(11 / 12)
    meta = read_meta(demo / "results/demo/predictions/libreface/shard-0.parquet")
    assert meta["native_order"][-1] == "contempt" and meta["contempt"] == "mask"
    assert planned_jobs(demo) == {}
