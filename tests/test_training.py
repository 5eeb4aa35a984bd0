"""A tiny end-to-end run: train a few steps on generated audio -> export (parity) -> daemon classifier -> score
-> eval report. Needs torch (the ``train`` extra); skips without it unless VOXWATCH_REQUIRE_ALL_TESTS is set."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import SR, speech_like, write_wav

from voxwatch.cli import main
from voxwatch.errors import VoxwatchError
from voxwatch.pipeline.stages.filter.features import FeatureSettings
from voxwatch.pipeline.stages.filter.session import OnnxClassifier


# Block torch the way a machine without it behaves: the import fails and "torch" never enters sys.modules
# (sys.modules["torch"] = None would confuse scipy, which looks there for torch arrays).
def blocking(*packages: str) -> str:
    return ("import sys, importlib.abc\n"
            "class _Blocked(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            f"        if name.split('.')[0] in {packages!r}:\n"
            "            raise ImportError(f'No module named {name}')\n"
            "sys.meta_path.insert(0, _Blocked())\n"
            "from voxwatch.cli import main\n")


NO_TORCH = blocking("torch")


def require_torch():
    if importlib.util.find_spec("torch") is None:
        if os.environ.get("VOXWATCH_REQUIRE_ALL_TESTS"):
            pytest.fail("torch is required (pip install -e '.[train]')")
        pytest.skip("torch not installed")


def buzzy(seconds: float, seed: int) -> np.ndarray:
    """The "fake" class: a flat-pitched pulse train through a fixed resonance, no breath noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    period = int(SR / rng.uniform(90, 110))
    pulses = np.zeros(n)
    pulses[::period] = 1.0
    t = np.arange(int(0.01 * SR)) / SR
    ring = np.exp(-t * 300) * np.sin(2 * np.pi * rng.uniform(700, 900) * t)
    x = np.convolve(pulses, ring)[:n] * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * np.arange(n) / SR))
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    rows = ["path,label,source,speaker,split,duration_s,family"]
    i = 0
    for split, n in (("train", 4), ("dev", 2), ("test", 2)):
        for k in range(n):
            i += 1
            seconds = 1.2 if k == 0 else 3.0  # one clip shorter than a window: tiled
            real = write_wav(root / f"real{i}.wav", speech_like(seconds, seed=i, f0=120 + 10 * k))
            fake = write_wav(root / f"fake{i}.wav", buzzy(seconds, seed=i))
            rows.append(f"{real.name},bonafide,synthetic-speech,r{i},{split},{seconds},real")
            rows.append(f"{fake.name},spoof,buzz,f{i},{split},{seconds},signal-vocoder")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture(scope="module")
def trained(tiny_corpus, tmp_path_factory) -> Path:
    require_torch()
    out = tmp_path_factory.mktemp("run")
    rc = main(["train", "--data", str(tiny_corpus), "--out", str(out), "--epochs", "2", "--max-steps", "3",
               "--batch-size", "8", "--copies", "2", "--workers", "1", "--seed", "3"])
    assert rc == 0
    return out


def test_train_writes_checkpoint_history_and_curves(trained):
    assert (trained / "best.pt").is_file()
    history = json.loads((trained / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    assert all(np.isfinite(h["train_loss"]) and 0 <= h["dev_eer"] <= 1 for h in history)
    assert (trained / "curves.png").stat().st_size > 1000
    summary = json.loads((trained / "summary.json").read_text())
    assert summary["training"]["splits"]["train"] == {"clips": 8, "real": 4, "fake": 4,
                                                      "sources": {"buzz": 4, "synthetic-speech": 4},
                                                      "real_hours": round(10.2 / 3600, 3),
                                                      "fake_hours": round(10.2 / 3600, 3),
                                                      "families": ["signal-vocoder"],
                                                      "licenses": {"not stated": 8},
                                                      "source_licenses": {"buzz": ["not stated"],
                                                                          "synthetic-speech": ["not stated"]}}


def test_export_parity_card_and_daemon_classifier(trained, tmp_path, capsys):
    model = tmp_path / "m.onnx"
    assert main(["export", str(trained / "best.pt"), "--out", str(model)]) == 0
    out = capsys.readouterr().out
    assert "parity: max |torch - onnxruntime|" in out
    card = json.loads(model.with_suffix(".json").read_text())
    assert card["feature_hash"] == FeatureSettings().digest()
    assert card["n_frames"] == 198 and card["window_s"] == 2.0
    assert 0.0 <= card["threshold"] <= 1.0
    assert card["metrics"]["parity_max_abs_diff"] <= 1e-4
    dev = card["training"]["splits"]["dev"]  # the card says per split how much of what it was chosen on
    assert (dev["clips"], dev["families"], dev["real_hours"]) == (4, ["signal-vocoder"], round(4.2 / 3600, 3))
    clf = OnnxClassifier(model, FeatureSettings(), 2.0)
    scores = clf.score(np.zeros((3, 198, FeatureSettings().n_features), np.float32))
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))

    wav = write_wav(tmp_path / "speech.wav", np.concatenate([np.zeros(4000, np.float32), speech_like(3.0)]))
    proc = subprocess.run([sys.executable, "-m", "voxwatch", "score", str(wav), "--model", str(model), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout.splitlines()[0])
    assert record["verdict"] in ("fake", "real") and record["model"] == card["model_id"]


def test_export_ensemble_of_checkpoints(trained, tmp_path):
    model = tmp_path / "ens.onnx"
    best = str(trained / "best.pt")
    first = sorted(trained.glob("epoch*.pt"))[0]
    assert main(["export", best, str(first), "--out", str(model)]) == 0
    card = json.loads(model.with_suffix(".json").read_text())
    assert card["model_id"].startswith(f"tinycnn-ens2-{FeatureSettings().kind}-")
    assert [m["checkpoint"].split("/")[-1] for m in card["training"]["members"]] == ["best.pt", first.name]
    assert card["metrics"]["parity_max_abs_diff"] <= 1e-4
    windows = np.zeros((2, 198, FeatureSettings().n_features), np.float32)
    assert OnnxClassifier(model, FeatureSettings(), 2.0).score(windows).shape == (2,)


def test_export_int8_reports_score_change(trained, tmp_path, capsys):
    model = tmp_path / "q.onnx"
    assert main(["export", str(trained / "best.pt"), "--out", str(model), "--int8"]) == 0
    assert "int8: score change max" in capsys.readouterr().out
    card = json.loads(model.with_suffix(".json").read_text())
    assert set(card["metrics"]["int8"]) >= {"max_abs_score_change", "dev_eer_int8"}
    # the first convolution reads the float input with float weights (an int8 scale over the input's range
    # moved scores by 0.2 on the real model); the others are quantised (they read DequantizeLinear outputs)
    import onnx

    graph = onnx.load(str(model)).graph
    producers = {o: n.op_type for n in graph.node for o in n.output}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    assert "features" in convs[0].input and producers.get(convs[0].input[1]) != "DequantizeLinear"
    assert all(producers.get(c.input[0]) == "DequantizeLinear" for c in convs[1:]) and len(convs) > 1
    assert OnnxClassifier(model).score(np.zeros((1, 198, FeatureSettings().n_features), np.float32)).shape == (1,)


def test_export_fails_above_tolerance(trained, tmp_path):
    model = tmp_path / "strict.onnx"
    assert main(["export", str(trained / "best.pt"), "--out", str(model), "--tolerance", "-1"]) == 2
    assert not model.exists()


def test_eval_report(trained, tiny_corpus, tmp_path, capsys):
    model = tmp_path / "m.onnx"
    assert main(["export", str(trained / "best.pt"), "--out", str(model)]) == 0
    report = tmp_path / "report"
    second = tmp_path / "corpus"
    second.symlink_to(tiny_corpus)
    capsys.readouterr()
    assert main(["eval", "--data", str(tiny_corpus), "--data", str(second), "--model", str(model), "--report",
                 str(report), "--telephone", "--workers", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    metrics = json.loads((report / "metrics.json").read_text())
    first, other = list(metrics["sets"])
    assert other == "corpus" and first != other  # each set reported apart, under its own name
    clean = metrics["sets"][first]["conditions"]["clean"]
    assert clean["clips"] == 4 and clean["real"] == 2
    assert set(clean["per_source"]) == {"buzz", "synthetic-speech"}
    assert "telephone-8k" in metrics["sets"][first]["conditions"]
    daemon = metrics["sets"][first]["daemon"]["clean"]
    assert 0.0 <= daemon["eer"] <= 1.0 and daemon["false_alarms_per_hour"] >= 0.0
    assert daemon["fake_utterances"] >= 1 and set(daemon["per_source"]) == {"buzz"}
    assert daemon["unseen"]["sources"] == []  # the buzz source was in training
    assert out[0].startswith(f"{first} clean: daemon-path EER ")
    text = (report / "report.md").read_text()
    assert "| corpus | clean |" in text and "Confusion matrix" in text and "the daemon path" in text
    for png in (f"{first}-roc.png", f"{first}-det.png", f"{first}-hist.png", "corpus-det.png", "alarms.png"):
        assert (report / png).stat().st_size > 1000


def test_train_without_torch_says_how_to_install(tiny_corpus, tmp_path):
    code = NO_TORCH + f"raise SystemExit(main(['train', '--data', {str(tiny_corpus)!r}, '--out', {str(tmp_path)!r}]))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "pip install -e '.[train]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_eval_runs_without_torch(tiny_corpus, tmp_path):
    """eval scores through onnxruntime only (a runtime install: no torch, no matplotlib); here with the bundled
    default model. Results alone on stdout: the note about missing figures goes to stderr."""
    report = tmp_path / "r"
    code = blocking("torch", "matplotlib") + (
        f"raise SystemExit(main(['eval', '--data', {str(tiny_corpus)!r}, '--report', {str(report)!r}, "
        "'--workers', '1', '--split', 'dev']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{tiny_corpus.name} clean: daemon-path EER ")  # progress bars go to stderr
    assert "matplotlib missing" in proc.stderr and not (report / "alarms.png").exists()
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["sets"][tiny_corpus.name]["conditions"]["clean"]["clips"] == 4


def test_freq_stride_trains_on_twice_the_filters_exports_and_the_card_records_it(tiny_corpus, tmp_path, capsys):
    """The 120-filter front end with a strided first convolution: the stride halves the first map's frequency
    axis (so the rest of the network sees what it sees on 60 filters), survives export through the checkpoint's
    model config, and the exported model refuses the 60-filter daemon settings."""
    require_torch()
    import torch

    from voxwatch.training.model import build

    net = build({"freq_stride": 2})
    assert net.body[0].stride == (1, 2) and net.config["freq_stride"] == 2
    assert "freq_stride" not in build({}).config  # old checkpoints and cards stay as they were
    with torch.no_grad():
        first = net.body[0](torch.zeros(1, 1, 198, 120))
    assert first.shape == (1, 8, 198, 60)
    config = tmp_path / "lin120.toml"
    config.write_text('[features]\nkind = "linfbank"\nnfilt = 120\n')
    out = tmp_path / "s2"
    rc = main(["train", "--data", str(tiny_corpus), "--out", str(out), "--epochs", "1", "--max-steps", "2",
               "--batch-size", "8", "--copies", "1", "--workers", "1", "--config", str(config),
               "--freq-stride", "2"])
    assert rc == 0
    assert "input (198, 120)" in capsys.readouterr().out
    model = tmp_path / "s2.onnx"
    assert main(["export", str(out / "best.pt"), "--out", str(model)]) == 0
    assert "parity: max |torch - onnxruntime|" in capsys.readouterr().out
    card = json.loads(model.with_suffix(".json").read_text())
    assert card["training"]["model"]["freq_stride"] == 2
    lin120 = FeatureSettings(kind="linfbank", nfilt=120)
    scores = OnnxClassifier(model, lin120, 2.0).score(np.random.default_rng(0).normal(
        size=(3, 198, 120)).astype(np.float32))
    assert scores.shape == (3,) and np.ptp(scores) > 0
    with pytest.raises(VoxwatchError):
        OnnxClassifier(model, FeatureSettings(), 2.0)


@pytest.mark.parametrize("extra, message", [
    (["--channels", "8"], "at least two positive widths"),
    (["--channels", "8,x"], "comma-separated integers"),
    (["--freq-stride", "0"], "--freq-stride must be >= 1"),
])
def test_train_refuses_bad_architecture_options(tiny_corpus, tmp_path, capsys, extra, message):
    require_torch()
    rc = main(["train", "--data", str(tiny_corpus), "--out", str(tmp_path / "r"), "--epochs", "1", *extra])
    assert rc == 2
    assert message in capsys.readouterr().err
