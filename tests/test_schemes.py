"""Label schemes casme4 / megc3 applied to off-the-shelf scores, and the per-fold accuracy rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from apexbench.aggregate import evaluate_classifier
from apexbench.labels import FER2013_ORDER, FERPLUS_ORDER, SCHEMES, predict_canonical, scheme_label
from apexbench.metrics import fold_rows


def test_scheme_classes_and_membership():
    assert SCHEMES["casme4"] == ("positive", "negative", "surprise", "other")
    assert SCHEMES["megc3"] == ("negative", "positive", "surprise")
    for label in ("disgust", "fear", "repression", "sadness", "anger", "contempt", "negative"):
        assert scheme_label(label, "casme4") == "negative" == scheme_label(label, "megc3")
    assert scheme_label("others", "casme4") == "other" and scheme_label("others", "megc3") is None
    assert scheme_label("neutral", "megc3") is None and scheme_label("neutral", "casme4") == "other"
    assert scheme_label("repression", "canonical7") is None and scheme_label("fear", "canonical7") == "fear"


def test_off_the_shelf_scores_are_summed_per_group():
    # FER2013 order: angry, disgust, fear, happy, sad, surprise, neutral.
    scores = np.array([
        [0.10, 0.10, 0.10, 0.26, 0.00, 0.20, 0.24],  # negative 0.30 > happy 0.26: negative
        [0.05, 0.05, 0.05, 0.30, 0.05, 0.10, 0.40],  # megc3: neutral masked, happy 0.30 wins
    ])
    assert predict_canonical(scores, FER2013_ORDER, "megc3") == ["negative", "positive"]
    # casme4: neutral belongs to `other`, so the second row is `other` (0.40 > 0.30).
    assert predict_canonical(scores, FER2013_ORDER, "casme4") == ["negative", "other"]
    # canonical7 is unchanged: the top canonical class.
    assert predict_canonical(scores, FER2013_ORDER, "canonical7") == ["happiness", "neutral"]
    # FER+ contempt joins negative under the grouped schemes whatever the contempt strategy.
    ferplus = np.array([[0.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.7]])
    assert predict_canonical(ferplus, FERPLUS_ORDER, "megc3", "wrong") == ["negative"]


def test_fold_rows_hand_computed():
    frame = pd.DataFrame({
        "label": ["a", "a", "b", "b", "a"],
        "pred": ["a", "b", "b", "b", "a"],
        "fold": ["s1", "s1", "s2", "s2", None],  # the last sample has no fold (no features)
    })
    rows = fold_rows(frame, "flow", "megc3").set_index("metric")
    # fold s1: 1/2, fold s2: 2/2 -> mean 0.75, population std 0.25.
    assert rows.loc["fold_accuracy_mean", "value"] == pytest.approx(0.75)
    assert rows.loc["fold_accuracy_std", "value"] == pytest.approx(0.25)
    assert rows.loc["fold_accuracy_min", "value"] == 0.5 and rows.loc["fold_accuracy_max", "value"] == 1.0
    assert (rows["n"] == 2).all()
    empty = fold_rows(frame.assign(fold=None), "flow", "megc3")
    assert math.isnan(empty["value"].iloc[0]) and (empty["n"] == 0).all()


def test_aggregate_maps_true_labels_to_the_scheme_and_adds_fold_rows():
    samples = pd.DataFrame({"sample_id": ["x1", "x2", "x3", "x4"],
                            "label_canonical": ["repression", "happiness", "others", "surprise"]})
    preds = pd.DataFrame({"sample_id": ["x1", "x2", "x3", "x4"], "status": ["ok"] * 3 + ["no_face"],
                          "pred_canonical": ["negative", "negative", "positive", None],
                          "latency_ms": [1.0, 1.0, 1.0, np.nan], "fold": ["s1", "s2", "s2", None],
                          "scores": [[0.6, 0.3, 0.1], [0.5, 0.4, 0.1], [0.2, 0.7, 0.1], None]})
    result = evaluate_classifier("flow", samples, preds, "megc3", {}, None)
    overall = result.metrics[result.metrics["class"] == ""].set_index("metric")
    # `others` (x3) is outside megc3; x1 right, x2 wrong, x4 failed: accuracy 1/3.
    assert overall.loc["accuracy", "n"] == 3 and overall.loc["accuracy", "value"] == pytest.approx(1 / 3)
    assert overall.loc["fold_accuracy_mean", "value"] == pytest.approx(0.5)  # s1: 1/1, s2: 0/1
    assert result.confusion.loc["negative", "negative"] == 1 and result.confusion.loc["positive", "negative"] == 1


def test_new_example_configs_validate():
    from pathlib import Path

    import yaml

    from apexbench.config import validate_config

    for name in ("casme2.yaml", "ckplus48_baselines.yaml"):
        path = Path(__file__).resolve().parents[1] / "config" / "examples" / name
        cfg = validate_config(yaml.safe_load(path.read_text()), source=name)
        assert cfg["evaluation"] == {"protocol": "loso", "folds": 5, "seed": 0}
        assert cfg["classifiers"]["siamese"]["model"] == "minixception"
        assert cfg["classifiers"]["flow"]["model"] is None


def test_a_composite_rescores_each_source_under_its_own_scheme(tmp_path):
    """Two sources scored under different schemes: each file is re-scored from its own metadata."""
    from apexbench.aggregate import load_predictions
    from apexbench.infer import PREDICTION_SCHEMA
    from apexbench.labels import FER2013_ORDER
    from apexbench.tables import write_parquet

    # neutral first, then happy: "other" under casme4, "positive" under megc3 (neutral has no class)
    scores = [0.0, 0.0, 0.0, 0.3, 0.0, 0.0, 0.7]
    for name, scheme, pred in (("smic", "megc3", "positive"), ("casme2", "casme4", "other")):
        frame = pd.DataFrame({"sample_id": ["x"], "status": ["ok"], "scores": [scores], "pred_native": ["neutral"],
                              "pred_canonical": [pred], "latency_ms": [1.0]})
        write_parquet(frame, tmp_path / f"{name}.parquet", schema=PREDICTION_SCHEMA,
                      meta={"scheme": scheme, "native_order": list(FER2013_ORDER), "contempt": "mask"})
    frame, meta, _ = load_predictions([("smic/", [tmp_path / "smic.parquet"]),
                                       ("casme2/", [tmp_path / "casme2.parquet"])], "megc3")
    assert frame.set_index("sample_id")["pred_canonical"].to_dict() == {"smic/x": "positive", "casme2/x": "positive"}
    assert meta["scheme"] == "megc3"
