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


def test_two_datasets_ocsoftmax_and_linear_features_train_export_and_load(tiny_corpus, tmp_path, capsys):
    """--data twice trains on both train splits; the OC-softmax head and a linfbank config survive export, and
    the daemon's classifier takes the model only with the same feature settings."""
    require_torch()
    second = tmp_path / "second"
    second.mkdir()
    for f in tiny_corpus.iterdir():
        (second / f.name).symlink_to(f)
    config = tmp_path / "lin.toml"
    config.write_text('[features]\nkind = "linfbank"\nnfilt = 48\n')
    out = tmp_path / "run"
    rc = main(["train", "--data", str(tiny_corpus), "--data", str(second), "--out", str(out), "--epochs", "1",
               "--max-steps", "2", "--batch-size", "8", "--copies", "2", "--workers", "1", "--loss", "ocsoftmax",
               "--codec", "1", "--eq", "0.5", "--rawboost", "0.5", "--config", str(config)])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["training"]["splits"]["train"]["clips"] == 16  # 8 of each copy of the set
    assert summary["training"]["extract"]["augment"]["p_codec"] == 1.0
    ckpt_config = summary["training"]["train"]
    assert ckpt_config["loss"] == "ocsoftmax"
    model = tmp_path / "oc.onnx"
    assert main(["export", str(out / "best.pt"), "--out", str(model)]) == 0
    assert "parity: max |torch - onnxruntime|" in capsys.readouterr().out
    card = json.loads(model.with_suffix(".json").read_text())
    lin = FeatureSettings(kind="linfbank", nfilt=48)
    assert card["feature_hash"] == lin.digest() and card["training"]["model"]["head"] == "ocsoftmax"
    scores = OnnxClassifier(model, lin, 2.0).score(np.zeros((2, 198, 48), np.float32))
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    with pytest.raises(VoxwatchError):
        OnnxClassifier(model, FeatureSettings(), 2.0)


def test_sepcnn_trains_exports_with_parity_and_its_card_records_the_arch(tiny_corpus, tmp_path, capsys):
    """The capacity experiment's network goes through the same train/export path; the card names it, and the
    exported graph scores like the checkpoint (export's parity check fails the command otherwise)."""
    require_torch()
    out = tmp_path / "sep"
    rc = main(["train", "--data", str(tiny_corpus), "--out", str(out), "--epochs", "1", "--max-steps", "2",
               "--batch-size", "8", "--copies", "1", "--workers", "1", "--arch", "sepcnn", "--channels", "8,16,32"])
    assert rc == 0
    assert "SepCNN" in capsys.readouterr().out
    model = tmp_path / "sep.onnx"
    assert main(["export", str(out / "best.pt"), "--out", str(model)]) == 0
    assert "parity: max |torch - onnxruntime|" in capsys.readouterr().out
    card = json.loads(model.with_suffix(".json").read_text())
    assert card["training"]["model"] == {"arch": "sepcnn", "channels": [8, 16, 32], "dropout": 0.2}
    assert card["model_id"].startswith("sepcnn-linfbank-")
    scores = OnnxClassifier(model, FeatureSettings(), 2.0).score(np.random.default_rng(0).normal(
        size=(3, 198, FeatureSettings().nfilt)).astype(np.float32))
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1)) and np.ptp(scores) > 0


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
    (["--arch", "sepcnn", "--loss", "ocsoftmax"], "only built for --arch tinycnn"),
    (["--channels", "8"], "at least two positive widths"),
    (["--channels", "8,x"], "comma-separated integers"),
    (["--sam", "-0.1"], "--sam must be >= 0"),
    (["--freq-stride", "0"], "--freq-stride must be >= 1"),
    (["--arch", "sepcnn", "--freq-stride", "2"], "only built for --arch tinycnn"),
])
def test_train_refuses_bad_architecture_options(tiny_corpus, tmp_path, capsys, extra, message):
    require_torch()
    rc = main(["train", "--data", str(tiny_corpus), "--out", str(tmp_path / "r"), "--epochs", "1", *extra])
    assert rc == 2
    assert message in capsys.readouterr().err


def test_sam_perturb_climbs_by_rho_along_the_gradient_and_restore_undoes_it():
    """The sharpness-aware step evaluates the gradient at the worst point of a rho-ball: the weights move by
    exactly rho (L2, over all parameters), the loss there is higher, and restoring gives the weights back."""
    require_torch()
    import torch

    from voxwatch.training.train import sam_perturb, sam_restore

    torch.manual_seed(0)
    net = torch.nn.Linear(5, 1)
    x, y = torch.randn(16, 5), torch.randn(16, 1)

    def loss() -> torch.Tensor:
        return ((net(x) - y) ** 2).mean()

    before = [p.detach().clone() for p in net.parameters()]
    base = loss()
    base.backward()
    moved = sam_perturb(net, 0.05)
    shift = torch.sqrt(sum(((p.detach() - b) ** 2).sum() for p, b in zip(net.parameters(), before, strict=True)))
    assert float(shift) == pytest.approx(0.05, rel=1e-4)
    assert float(loss().detach()) > float(base.detach())
    sam_restore(moved)
    for p, b in zip(net.parameters(), before, strict=True):
        assert torch.allclose(p.detach(), b, atol=1e-7)


def test_train_with_sam_records_it_and_takes_different_steps(tiny_corpus, trained, tmp_path, capsys):
    """``--sam`` reaches the training loop (the same seed and data end in different weights) and the card of
    the run records the radius, so an experiment can be told apart from the plain recipe."""
    require_torch()
    import torch

    out = tmp_path / "sam"
    rc = main(["train", "--data", str(tiny_corpus), "--out", str(out), "--epochs", "2", "--max-steps", "3",
               "--batch-size", "8", "--copies", "2", "--workers", "1", "--seed", "3", "--sam", "0.05"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["training"]["train"]["sam"] == 0.05
    plain = json.loads((trained / "summary.json").read_text())
    assert plain["training"]["train"]["sam"] == 0.0
    a = torch.load(out / "epoch01.pt", weights_only=False)["state_dict"]
    b = torch.load(trained / "epoch01.pt", weights_only=False)["state_dict"]
    assert any(not torch.equal(a[k], b[k]) for k in a if a[k].is_floating_point())


def test_soft_targets_mix_label_and_teacher_and_the_loss_is_least_at_the_mix():
    """Binary cross-entropy is linear in its target, so training on the mixed target is training on the mix of
    the label loss and the teacher loss: the loss of one window is least where the network outputs the mix."""
    require_torch()
    import torch

    from voxwatch.training.train import _batch_loss, soft_targets

    labels = np.array([0.0, 1.0, 1.0], np.float32)
    teacher = np.array([0.2, 0.9, 0.1], np.float32)
    np.testing.assert_allclose(soft_targets(labels, teacher, 0.5), [0.1, 0.95, 0.55])
    np.testing.assert_array_equal(soft_targets(labels, teacher, 0.0), labels)
    with pytest.raises(ValueError):
        soft_targets(labels, teacher, 1.5)

    class Logit(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.z = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return self.z.expand(len(x))

    net = Logit()
    target = torch.tensor([0.55])
    opt = torch.optim.SGD(net.parameters(), lr=1.0)
    for _ in range(200):
        opt.zero_grad()
        _batch_loss(net, "linear", torch.zeros(1, 1), target, torch.ones(1)).backward()
        opt.step()
    assert torch.sigmoid(net.z).item() == pytest.approx(0.55, abs=1e-3)


def test_train_distils_a_teacher_that_scores_every_training_window(tiny_corpus, tmp_path, capsys):
    """``--teacher``: the bundled model (same feature settings as the default config) scores every training
    window once and the run records the teacher, its weight and how often it agreed with the labels; a teacher
    on other features is refused, and so is a weight outside (0, 1]."""
    require_torch()
    from voxwatch.models import default_model_path
    from voxwatch.training.train import TrainSettings, train

    bundled = str(default_model_path())
    out = tmp_path / "student"
    rc = main(["train", "--data", str(tiny_corpus), "--out", str(out), "--epochs", "1", "--max-steps", "2",
               "--batch-size", "8", "--copies", "1", "--workers", "1", "--teacher", bundled, "--distill", "0.7"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())["training"]
    card = OnnxClassifier(bundled).card
    assert summary["train"]["distill"] == 0.7 and summary["train"]["teacher"] == card.model_id
    assert 0.0 <= summary["teacher_agreement"] <= 1.0

    class AlwaysFake:
        def __init__(self) -> None:
            self.seen = 0

        def score(self, batch):
            self.seen += len(batch)
            return np.ones(len(batch), np.float32)

    from voxwatch.config import Config
    from voxwatch.training.datasets import load_datasets
    from voxwatch.training.featureset import ExtractSettings

    pipeline = Config().pipeline
    teacher = AlwaysFake()
    train(load_datasets([str(tiny_corpus)]), tmp_path / "always", ExtractSettings(
        pipeline.features, pipeline.window, pipeline.vad, copies=1), TrainSettings(
        epochs=1, max_steps=1, batch_size=8, distill=1.0), workers=1, teacher=teacher)
    fixed = json.loads((tmp_path / "always" / "summary.json").read_text())["training"]
    windows = fixed["train_windows"]
    assert teacher.seen == windows["real"] + windows["fake"]  # every training window, once
    assert fixed["teacher_agreement"] == pytest.approx(windows["fake"] / teacher.seen)
    with pytest.raises(ValueError, match="needs a teacher"):
        train(load_datasets([str(tiny_corpus)]), tmp_path / "none", ExtractSettings(
            pipeline.features, pipeline.window, pipeline.vad, copies=1), TrainSettings(distill=0.5), workers=1)

    capsys.readouterr()
    config = tmp_path / "lin120.toml"
    config.write_text('[features]\nkind = "linfbank"\nnfilt = 120\n')
    base = ["train", "--data", str(tiny_corpus), "--out", str(tmp_path / "r"), "--epochs", "1", "--teacher", bundled]
    assert main([*base, "--config", str(config)]) == 2
    assert "feature settings" in capsys.readouterr().err
    assert main([*base, "--distill", "0"]) == 2
    assert "--distill must be within" in capsys.readouterr().err
    assert main([*base[:-1], str(tmp_path / "missing.onnx")]) == 2
    assert "not found" in capsys.readouterr().err
