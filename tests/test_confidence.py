"""Prediction confidence, confidence buckets and the coverage-accuracy curve."""

from __future__ import annotations

import math

import numpy as np
import pytest

from apexbench.confidence import bucket_table, coverage_accuracy, prediction_confidence, scheme_probabilities
from apexbench.labels import FER2013_ORDER, FERPLUS_ORDER, predict_canonical


@pytest.mark.parametrize("contempt", ["mask", "wrong", "merge"])
def test_top_class_is_the_reported_prediction(contempt):
    scores = np.random.default_rng(0).dirichlet(np.ones(8) * 0.5, size=200)
    labels, probs = scheme_probabilities(scores, FERPLUS_ORDER, "canonical7", contempt)
    assert [labels[i] for i in probs.argmax(axis=1)] == predict_canonical(scores, FERPLUS_ORDER, "canonical7",
                                                                           contempt)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert ("contempt" in labels) == (contempt == "wrong")


def test_confidence_renormalises_without_contempt():
    # FER+ order: neutral .4, happiness .2, contempt .4 -> masked: neutral .4 / .6.
    scores = np.array([[0.4, 0.2, 0, 0, 0, 0, 0, 0.4]])
    assert prediction_confidence(scores, [True], FERPLUS_ORDER, "canonical7", "mask")[0] == pytest.approx(2 / 3)
    assert prediction_confidence(scores, [True], FERPLUS_ORDER, "canonical7", "wrong")[0] == pytest.approx(0.4)
    # a 7-class model, and a failed sample
    fer = np.array([0.1, 0, 0, 0.6, 0.1, 0.1, 0.1])
    conf = prediction_confidence([fer, None], [True, False], FER2013_ORDER, "canonical7")
    assert conf.tolist() == pytest.approx([0.6, 0.0])


def test_grouped_schemes_sum_their_members_and_trained_scores_pass_through():
    # FER+ order under megc3: negative = anger .1 + disgust .1 + fear .1 + sadness .1 + contempt .2,
    # positive = happiness .2, surprise .1; neutral (.1) is in no group and is masked.
    scores = np.array([[0.1, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2]])
    labels, probs = scheme_probabilities(scores, FERPLUS_ORDER, "megc3")
    assert labels == ["negative", "positive", "surprise"]
    assert probs[0].tolist() == pytest.approx([0.6 / 0.9, 0.2 / 0.9, 0.1 / 0.9])
    assert predict_canonical(scores, FERPLUS_ORDER, "megc3") == ["negative"]
    # a baseline trained on the scheme's own classes: its scores are already the scheme's
    trained = np.array([[0.2, 0.5, 0.3]])
    assert prediction_confidence(trained, [True], ("negative", "positive", "surprise"), "megc3")[0] == 0.5


def test_buckets_by_hand():
    correct = [1, 1, 0, 1, 0, 0]
    confidence = [0.9, 0.7, 0.65, 0.5, 0.2, 0.0]
    ok = [True, True, True, True, True, False]
    table = bucket_table(correct, confidence, ok, high=0.7, low=0.4, classifier="c").set_index("bucket")
    assert table.loc["high", ["n", "correct"]].tolist() == [2, 2] and table.loc["high", "accuracy"] == 1.0
    assert table.loc["mid", ["n", "correct"]].tolist() == [2, 1] and table.loc["mid", "accuracy"] == 0.5
    assert table.loc["low", ["n", "correct"]].tolist() == [1, 0]
    assert table.loc["no_prediction", "n"] == 1 and table["share"].sum() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        bucket_table(correct, confidence, ok, high=0.3, low=0.4, classifier="c")


def test_coverage_accuracy_by_hand():
    correct = [1, 1, 0, 1, 0, 0]
    confidence = [0.9, 0.7, 0.65, 0.5, 0.2, 0.0]
    ok = [True, True, True, True, True, False]
    curve = coverage_accuracy(correct, confidence, ok, "c", thresholds=[0.0, 0.6, 0.8, 0.95]).set_index("threshold")
    assert curve.loc[0.0, "coverage"] == pytest.approx(5 / 6) and curve.loc[0.0, "accuracy"] == pytest.approx(3 / 5)
    assert curve.loc[0.6, "coverage"] == pytest.approx(3 / 6) and curve.loc[0.6, "accuracy"] == pytest.approx(2 / 3)
    assert curve.loc[0.8, "n_covered"] == 1 and curve.loc[0.8, "accuracy"] == 1.0
    assert curve.loc[0.95, "coverage"] == 0.0 and math.isnan(curve.loc[0.95, "accuracy"])
