"""Vocoders trained here: they learn, their CLIs write checkpoints, cards and twins, and the twins' rows are right."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lab.tests.helpers import require_module

require_module("torch", install="pip install -e '.[train]'")

import torch  # noqa: E402

from lab.data.build_data import COLUMNS, ROWS_FILE, merge_manifest, write_rows  # noqa: E402
from lab.vocoders import evaluate, train, twins  # noqa: E402
from lab.vocoders.arches import (  # noqa: E402
    ARCHES,
    build,
    load_checkpoint,
    parameters,
    synthesize,
    training_loss,
)
from lab.vocoders.mel import LogMel  # noqa: E402
from voxwatch.bench.workload import speech_like  # noqa: E402
from voxwatch.training.augment import band_limit  # noqa: E402

ARCH_NAMES = sorted(ARCHES)
ONE_PASS = [a for a in ARCH_NAMES if ARCHES[a].family != "diffusion"]  # deterministic: a mel gives one waveform
BANDLIMITED = "src/spk0/u1.flac"


def make_set(root: Path) -> Path:
    """A built set: 3 train speakers x 2 clips (one band-limited), a dev speaker, a Lyra twin, an eval-only clip."""
    rows = []
    for s in range(3):
        for u in range(2):
            path = f"src/spk{s}/u{u}.flac"
            audio = speech_like(1.2 + 0.3 * u, seed=10 * s + u, f0=110.0 + 40 * s)
            if path == BANDLIMITED:
                audio = band_limit(audio)
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            sf.write(root / path, audio, 16000)
            rows.append([path, "bonafide", "reads", f"spk{s}", "train", f"{len(audio) / 16000:.2f}", "CC0", "real",
                         "train", "ground-truth", "test/reads", "v", "1" if path == BANDLIMITED else "0", "16000"])
    extra = [("src/dev/u0.flac", "bonafide", "dev-spk", "dev", "train", "test/reads"),
             ("lyra/x.flac", "bonafide", "spk0", "train", "train", "google/lyra"),
             ("page/x.flac", "bonafide", "p1", "test", "eval-only", "test/page")]
    for path, label, speaker, split, use, repo in extra:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / path, speech_like(1.0, seed=99), 16000)
        rows.append([path, label, "x", speaker, split, "1.00", "none", "real", use, "x", repo, "v", "0", "16000"])
    write_rows(root / "src" / ROWS_FILE, rows)
    merge_manifest(root)
    return root


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def train_args(root: Path, out: Path, arch: str, steps: int = 2) -> list[str]:
    return ["--data", str(root), "--arch", arch, "--out", str(out), "--steps", str(steps), "--minutes", "5",
            "--batch", "2", "--segment-s", "0.25", "--held-out", "1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    """The tiny set and a checkpoint of each architecture after 2 steps."""
    root = make_set(tmp_path_factory.mktemp("set"))
    checkpoints = {}
    for arch in ARCH_NAMES:
        out = root.parent / f"vocoder-{arch}"
        assert train.main(train_args(root, out, arch)) == 0
        checkpoints[arch] = out / train.CHECKPOINT
    return root, checkpoints


@pytest.mark.parametrize("arch", ARCH_NAMES)
def test_architectures_are_small_and_keep_the_length(arch):
    model = build(arch)
    assert 200_000 <= parameters(model) <= 1_500_000
    audio = torch.from_numpy(speech_like(0.7))[None, :11_111]  # not a multiple of the hop
    with torch.no_grad():
        out = synthesize(model, LogMel(), audio)
    assert out.shape == audio.shape and torch.isfinite(out).all()


@pytest.mark.parametrize("arch", ARCH_NAMES)
def test_loss_decreases_on_a_fixed_batch(arch):
    """The architecture's own loss (spectral, or noise prediction at seeded steps and noise) falls with training."""
    torch.manual_seed(0)
    model, mel = build(arch), LogMel()
    optimizer = train.make_optimizer(arch, model)
    batch = torch.from_numpy(np.stack([speech_like(0.25, seed=s, f0=100.0 + 30 * s) for s in range(2)]))

    def seeded_loss() -> float:
        torch.manual_seed(1)  # the same diffusion steps and noise before and after
        with torch.no_grad():
            return training_loss(model, mel, batch).total.item()

    before = seeded_loss()
    for _ in range(8 if arch in ONE_PASS else 30):  # the diffusion model starts by predicting zero noise
        train.train_step(model, optimizer, mel, batch)
    assert seeded_loss() < 0.8 * before


def test_training_writes_a_checkpoint_and_card_from_licensed_real_train_clips_only(trained):
    root, checkpoints = trained
    for arch, checkpoint in checkpoints.items():
        card = json.loads((checkpoint.parent / train.CARD).read_text())
        assert card["arch"] == arch and card["steps"] == 2 and card["curve"][-1]["step"] == 2
        assert card["family"] == ARCHES[arch].family and card["loss"] == ARCHES[arch].loss_name
        terms = {"stft", "mel"} if arch in ONE_PASS else {"noise"}  # the curve names the loss it records
        assert set(card["curve"][-1]) == {"step", "minutes", *terms}
        assert card["parameters"] == parameters(build(arch))
        # 6 real train clips, the Lyra row and dev/test never, one held out for evaluate
        assert card["training"]["clips"] == 5 and card["training"]["speakers"] == 3
        assert card["training"]["licenses"] == {"CC0": 5} and len(card["held_out"]) == 1
        name, _, ident = load_checkpoint(checkpoint)
        assert name == arch and ident == card["model_id"]


@pytest.mark.parametrize("arch", ["istft", "diffwave"])
def test_training_is_seeded(trained, tmp_path, arch):
    root, checkpoints = trained
    assert train.main(train_args(root, tmp_path / "again", arch)) == 0
    assert load_checkpoint(tmp_path / "again" / train.CHECKPOINT)[2] == load_checkpoint(checkpoints[arch])[2]


@pytest.mark.parametrize("arch", ["istft", "diffwave"])
def test_resume_continues_steps_curve_and_weights(trained, tmp_path, arch):
    """A resumed run starts from the checkpoint's weights and optimiser and carries its steps and curve on."""
    root, checkpoints = trained
    out = tmp_path / "resumed"
    out.mkdir()
    shutil.copy(checkpoints[arch], out / train.CHECKPOINT)
    before = load_checkpoint(out / train.CHECKPOINT)[2]
    args = train_args(root, out, arch) + ["--resume"]
    assert train.main(args) == 0
    card = json.loads((out / train.CARD).read_text())
    assert card["steps"] == 4 and [p["step"] for p in card["curve"]] == [2, 4]
    assert card["resumed"] == [{"from_step": 2, "model_id": before}]
    assert card["model_id"] != before and load_checkpoint(out / train.CHECKPOINT)[2] == card["model_id"]


def test_resume_needs_a_checkpoint_of_the_same_architecture(trained, tmp_path, capsys):
    root, checkpoints = trained
    assert train.main(train_args(root, tmp_path / "none", "istft") + ["--resume"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    out = tmp_path / "other"
    out.mkdir()
    shutil.copy(checkpoints["hifigan"], out / train.CHECKPOINT)
    assert train.main(train_args(root, out, "istft") + ["--resume"]) == 2
    assert "holds a hifigan vocoder" in capsys.readouterr().err


def test_plan_twins_every_train_speaker_at_share_zero(trained):
    rows = read_rows(trained[0] / "manifest.csv")
    assert sorted(t.row["speaker"] for t in twins.plan(rows, "hifigan", 0.0)) == ["spk0", "spk1", "spk2"]
    assert len(twins.plan(rows, "hifigan", 1.0)) == 6  # never the Lyra row, dev or evaluation-only clips


def high_band_share(audio: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(audio)) ** 2
    return float(power[int(len(power) * 4300 / 8000):].sum() / power.sum())


def test_twins_are_written_with_their_rows_and_merged(trained):
    root, checkpoints = trained
    for checkpoint in checkpoints.values():
        assert twins.main(["--data", str(root), "--checkpoint", str(checkpoint), "--share", "1.0"]) == 0
    # running one architecture again replaces its folder only
    assert twins.main(["--data", str(root), "--checkpoint", str(checkpoints["hifigan"]), "--share", "0.0"]) == 0
    rows = read_rows(root / "manifest.csv")
    assert tuple(rows[0]) == COLUMNS
    originals = {r["path"]: r for r in rows}
    made = {arch: [r for r in rows if r["system"] == f"vocoder-{arch}"] for arch in ARCH_NAMES}
    assert len(made["hifigan"]) == 3 and all(len(made[a]) == 6 for a in ARCH_NAMES if a != "hifigan")
    assert len(rows) == 9 + 3 + 6 * (len(ARCH_NAMES) - 1)
    for arch, written in made.items():
        ident = load_checkpoint(checkpoints[arch])[2]
        assert {(r["label"], r["family"], r["split"], r["use"], r["repo"], r["version"]) for r in written} == \
            {("spoof", ARCHES[arch].family, "train", "train", twins.REPO, ident)}
        for row in written:
            original = originals[row["path"].removeprefix(f"{twins.slug(arch)}/")]
            assert row["speaker"] == original["speaker"] and row["bandlimited"] == original["bandlimited"]
            assert row["license"] == "speech: CC0"
            a, _ = sf.read(root / original["path"], dtype="float32")
            b, rate = sf.read(root / row["path"], dtype="float32")
            assert rate == 16000 and len(b) == len(a) and not np.allclose(a, b, atol=1e-3)
            assert np.sqrt(np.mean(b ** 2)) == pytest.approx(np.sqrt(np.mean(a ** 2)), rel=0.05)  # loudness kept
    for arch in ARCH_NAMES:
        if arch == "hifigan":
            continue
        written = {r["path"].split("/", 1)[1]: root / r["path"] for r in made[arch]}
        limited = high_band_share(sf.read(written[BANDLIMITED])[0])
        full = high_band_share(sf.read(written["src/spk0/u0.flac"])[0])
        assert limited < 1e-3 < full


def test_diffusion_twins_are_rows_of_family_diffusion(trained, tmp_path):
    root = Path(shutil.copytree(trained[0], tmp_path / "set"))
    assert twins.main(["--data", str(root), "--checkpoint", str(trained[1]["diffwave"]), "--share", "0.0"]) == 0
    written = [r for r in read_rows(root / "manifest.csv") if r["system"] == "vocoder-diffwave"]
    assert len(written) == 3 and {r["family"] for r in written} == {"diffusion"}
    assert {r["label"] for r in written} == {"spoof"}


def test_diffusion_twins_are_sampled_reproducibly(trained, tmp_path):
    """A sampled twin depends on its seed (the clip's path): the same path gives the same twin, another seed not."""
    _, model, _ = load_checkpoint(trained[1]["diffwave"])
    audio = speech_like(0.6, seed=3)
    first, again = twins.synthesize(model, audio, seed=7), twins.synthesize(model, audio, seed=7)
    assert np.array_equal(first, again) and not np.allclose(first, twins.synthesize(model, audio, seed=8))
    copies = []
    for name in ("a", "b"):
        root = Path(shutil.copytree(trained[0], tmp_path / name))
        assert twins.main(["--data", str(root), "--checkpoint", str(trained[1]["diffwave"]), "--share", "0.0"]) == 0
        copies.append({p.relative_to(root): sf.read(p)[0] for p in (root / twins.slug("diffwave")).rglob("*.flac")})
    assert copies[0].keys() == copies[1].keys() and len(copies[0]) == 3
    assert all(np.array_equal(copies[0][k], copies[1][k]) for k in copies[0])


def test_bad_inputs_are_one_line_errors(trained, tmp_path, capsys):
    root, checkpoints = trained
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    calls = [(twins.main, ["--data", str(root), "--checkpoint", str(tmp_path / "missing.pt")]),
             (twins.main, ["--data", str(root), "--checkpoint", str(garbage)]),
             (twins.main, ["--data", str(tmp_path), "--checkpoint", str(checkpoints["istft"])]),
             (train.main, train_args(tmp_path, tmp_path / "out", "istft"))]
    for call, args in calls:
        assert call(args) == 2
        err = capsys.readouterr().err
        assert err.startswith("voxwatch: error: ") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_griffin_lim_inverts_a_mel_better_than_its_random_start():
    mel = LogMel()
    audio = torch.from_numpy(speech_like(0.5))[None]
    target = mel(audio)
    start = evaluate.griffin_lim(mel, target, audio.shape[-1], iterations=0)
    done = evaluate.griffin_lim(mel, target, audio.shape[-1], iterations=32)
    assert (mel(done) - target).abs().mean() < 0.7 * (mel(start) - target).abs().mean()


def test_evaluate_lists_each_vocoder_and_griffin_lim(trained, capsys):
    root, checkpoints = trained
    assert evaluate.main(["--data", str(root), *sum((["--checkpoint", str(c)] for c in checkpoints.values()), [])]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(ARCH_NAMES) + 1 and lines[-1].startswith("griffin-lim")
    assert all("clips   1" in line for line in lines)


def test_fast_sampling_steps_sit_at_the_training_steps_of_the_same_noise_level():
    from lab.vocoders.diffwave import DiffWaveConfig, aligned_steps, training_alpha_bars

    config = DiffWaveConfig()
    steps = aligned_steps(config)
    levels = training_alpha_bars(config).sqrt().numpy()
    fast = np.sqrt(np.cumprod(1 - np.array(config.sampling_betas)))
    assert len(steps) == len(config.sampling_betas) and steps == sorted(steps)
    assert 0.0 <= steps[0] and steps[-1] <= config.train_steps - 1
    at = np.interp(steps, np.arange(config.train_steps), levels)  # the training level at each fractional step
    assert np.allclose(at, fast, atol=1e-3)
