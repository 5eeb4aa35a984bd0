"""``python -m lab.recipes.train_variants``: the filter recipes the shipped model does not use (SepCNN, the
OC-softmax head, sharpness-aware steps, a teacher's targets), through the product's trainer with a Recipe; they
were options of ``voxwatch train`` until issue 35."""

import json

import numpy as np
import pytest

from lab.recipes.train_variants import Variant, sam_perturb, sam_restore, soft_targets
from lab.recipes.train_variants import main as variants
from tests.test_training import require_torch
from voxwatch.cli import main
from voxwatch.errors import VoxwatchError
from voxwatch.pipeline.stages.filter.features import FeatureSettings
from voxwatch.pipeline.stages.filter.session import OnnxClassifier


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
    rc = variants(["--data", str(tiny_corpus), "--data", str(second), "--out", str(out), "--epochs", "1",
               "--max-steps", "2", "--batch-size", "8", "--copies", "2", "--workers", "1", "--loss", "ocsoftmax",
               "--codec", "1", "--eq", "0.5", "--rawboost", "0.5", "--config", str(config)])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["training"]["splits"]["train"]["clips"] == 16  # 8 of each copy of the set
    assert summary["training"]["extract"]["augment"]["p_codec"] == 1.0
    ckpt_config = summary["training"]["train"]
    assert ckpt_config["loss"] == "ocsoftmax"
    model = tmp_path / "oc.onnx"
    assert variants(["export", str(out / "best.pt"), "--out", str(model)]) == 0
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
    rc = variants(["--data", str(tiny_corpus), "--out", str(out), "--epochs", "1", "--max-steps", "2",
               "--batch-size", "8", "--copies", "1", "--workers", "1", "--arch", "sepcnn", "--channels", "8,16,32"])
    assert rc == 0
    assert "SepCNN" in capsys.readouterr().out
    model = tmp_path / "sep.onnx"
    assert variants(["export", str(out / "best.pt"), "--out", str(model)]) == 0
    assert "parity: max |torch - onnxruntime|" in capsys.readouterr().out
    card = json.loads(model.with_suffix(".json").read_text())
    assert card["training"]["model"] == {"arch": "sepcnn", "channels": [8, 16, 32], "dropout": 0.2}
    assert card["model_id"].startswith("sepcnn-linfbank-")
    scores = OnnxClassifier(model, FeatureSettings(), 2.0).score(np.random.default_rng(0).normal(
        size=(3, 198, FeatureSettings().nfilt)).astype(np.float32))
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1)) and np.ptp(scores) > 0


@pytest.mark.parametrize("extra, message", [
    (["--arch", "sepcnn", "--loss", "ocsoftmax"], "only built for --arch tinycnn"),
    (["--sam", "-0.1"], "--sam must be >= 0"),
    (["--arch", "sepcnn", "--freq-stride", "2"], "only built for --arch tinycnn"),
    (["--stage", "verifier", "--sam", "0.1"], "the recipe variants are the filter's"),
])
def test_the_variants_refuse_what_is_not_built(tiny_corpus, tmp_path, capsys, extra, message):
    require_torch()
    assert variants(["--data", str(tiny_corpus), "--out", str(tmp_path / "r"), "--epochs", "1", *extra]) == 2
    assert message in capsys.readouterr().err


def test_the_product_no_longer_takes_the_variants_and_does_not_build_their_networks(tiny_corpus, tmp_path,
                                                                                     capsys):
    """``voxwatch train --arch sepcnn`` is an unknown option now; a checkpoint of a variant's network exports
    through this module only (the product's builder names it)."""
    import voxwatch.training.model as model

    with pytest.raises(SystemExit):
        main(["train", "--data", str(tiny_corpus), "--out", str(tmp_path / "r"), "--arch", "sepcnn"])
    assert "unrecognized arguments: --arch sepcnn" in capsys.readouterr().err
    product = {k: v for k, v in model.BUILDERS.items() if k == "tinycnn"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(model, "BUILDERS", product)
        with pytest.raises(ValueError, match="python -m lab.recipes.train_variants"):
            model.build({"arch": "sepcnn"})


def test_sam_perturb_climbs_by_rho_along_the_gradient_and_restore_undoes_it():
    """The sharpness-aware step evaluates the gradient at the worst point of a rho-ball: the weights move by
    exactly rho (L2, over all parameters), the loss there is higher, and restoring gives the weights back."""
    require_torch()
    import torch



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
    rc = variants(["--data", str(tiny_corpus), "--out", str(out), "--epochs", "2", "--max-steps", "3",
               "--batch-size", "8", "--copies", "2", "--workers", "1", "--seed", "3", "--sam", "0.05"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["training"]["train"]["sam"] == 0.05
    plain = json.loads((trained / "summary.json").read_text())
    assert "sam" not in plain["training"]["train"]  # the product's recipe records no variant
    a = torch.load(out / "epoch01.pt", weights_only=False)["state_dict"]
    b = torch.load(trained / "epoch01.pt", weights_only=False)["state_dict"]
    assert any(not torch.equal(a[k], b[k]) for k in a if a[k].is_floating_point())


def test_soft_targets_mix_label_and_teacher_and_the_loss_is_least_at_the_mix():
    """Binary cross-entropy is linear in its target, so training on the mixed target is training on the mix of
    the label loss and the teacher loss: the loss of one window is least where the network outputs the mix."""
    require_torch()
    import torch

    from voxwatch.training.train import Recipe, _batch_loss

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
        _batch_loss(Recipe(), net, torch.zeros(1, 1), target, torch.ones(1)).backward()
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
    rc = variants(["--data", str(tiny_corpus), "--out", str(out), "--epochs", "1", "--max-steps", "2",
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
        epochs=1, max_steps=1, batch_size=8), workers=1, recipe=Variant(teacher=teacher, distill=1.0))
    fixed = json.loads((tmp_path / "always" / "summary.json").read_text())["training"]
    windows = fixed["train_windows"]
    assert teacher.seen == windows["real"] + windows["fake"]  # every training window, once
    assert fixed["teacher_agreement"] == pytest.approx(windows["fake"] / teacher.seen)

    capsys.readouterr()
    config = tmp_path / "lin120.toml"
    config.write_text('[features]\nkind = "linfbank"\nnfilt = 120\n')
    base = ["--data", str(tiny_corpus), "--out", str(tmp_path / "r"), "--epochs", "1", "--teacher", bundled]
    assert variants([*base, "--config", str(config)]) == 2
    assert "feature settings" in capsys.readouterr().err
    assert variants([*base, "--distill", "0"]) == 2
    assert "--distill must be within" in capsys.readouterr().err
    assert variants([*base[:-1], str(tmp_path / "missing.onnx")]) == 2
    assert "not found" in capsys.readouterr().err
