"""EER, ROC-AUC, confusion and clip aggregation against hand-computed cases."""

import numpy as np
import pytest

from voxwatch.training import metrics


def test_eer_separable_scores_is_zero_with_threshold_between_classes():
    labels = [0, 0, 1, 1]
    rate, thr = metrics.eer(labels, [0.1, 0.2, 0.8, 0.9])
    assert rate == 0.0
    assert thr == pytest.approx(0.5)  # midway between the highest real (0.2) and lowest fake (0.8)


def test_eer_exact_crossing():
    # real 0.1 0.2 0.3 0.4, fake 0.35 0.5 0.6 0.7: at t in (0.35, 0.4] one real passes and one fake is missed
    labels = [0, 0, 0, 0, 1, 1, 1, 1]
    scores = [0.1, 0.2, 0.3, 0.4, 0.35, 0.5, 0.6, 0.7]
    rate, thr = metrics.eer(labels, scores)
    assert rate == pytest.approx(0.25)
    assert 0.35 < thr <= 0.4
    c = metrics.confusion(labels, scores, thr)
    assert (c.fp, c.fn) == (1, 1)


def test_eer_interpolates_between_operating_points():
    # real 0.1 0.5, fake 0.5 0.9: t=0.5 -> fpr 1/2, fnr 0; t=0.9 -> fpr 0, fnr 1/2; the lines cross at 1/4
    rate, thr = metrics.eer([0, 0, 1, 1], [0.1, 0.5, 0.5, 0.9])
    assert rate == pytest.approx(0.25)
    assert thr == pytest.approx(0.7)
    # no tie: real 0.1 0.2 0.3, fake 0.25 0.6 -> fpr stays 1/3 while fnr jumps 0 -> 1/2: EER 1/3
    assert metrics.eer([0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.25, 0.6])[0] == pytest.approx(1 / 3)


def test_eer_inverted_scores_is_one():
    rate, _ = metrics.eer([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1])
    assert rate == pytest.approx(1.0)


def test_eer_needs_both_classes():
    with pytest.raises(ValueError):
        metrics.eer([1, 1], [0.2, 0.3])


def test_roc_auc_with_ties():
    # pairs (fake > real): fake 0.5 vs real 0.1 win, vs real 0.5 tie; fake 0.9 wins both -> (1 + 0.5 + 2) / 4
    assert metrics.roc_auc([0, 0, 1, 1], [0.1, 0.5, 0.5, 0.9]) == pytest.approx(0.875)
    assert metrics.roc_auc([0, 1], [0.2, 0.8]) == 1.0


def test_roc_curve_endpoints():
    fpr, tpr = metrics.roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert (fpr[0], tpr[0]) == (0.0, 0.0)
    assert (fpr[-1], tpr[-1]) == (1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)


def test_confusion_and_per_class_scores():
    labels = [0, 0, 0, 1, 1]
    scores = [0.1, 0.7, 0.2, 0.9, 0.3]
    c = metrics.confusion(labels, scores, 0.5)
    assert c.matrix == [[2, 1], [1, 1]]
    assert c.accuracy == pytest.approx(3 / 5)
    pc = c.per_class()
    assert pc["fake"]["precision"] == pytest.approx(0.5)
    assert pc["fake"]["recall"] == pytest.approx(0.5)
    assert pc["real"]["precision"] == pytest.approx(2 / 3)
    assert pc["real"]["recall"] == pytest.approx(2 / 3)
    assert pc["real"]["f1"] == pytest.approx(2 / 3)


def test_clip_scores_use_daemon_aggregation():
    windows = np.array([0.2, 0.4, 0.9, 0.1, 0.3])
    clip = np.array([0, 0, 2, 2, 2])
    out = metrics.clip_scores(windows, clip, 3)
    assert out[0] == pytest.approx(0.3)
    assert np.isnan(out[1])
    assert out[2] == pytest.approx(13 / 30)
    assert metrics.clip_scores(windows, clip, 3, "max")[2] == pytest.approx(0.9)
