"""``voxwatch calibrate`` end to end on generated audio: a loudness model (score follows the level) stands in for
the detector, so which utterances would raise false alarms is known."""

import numpy as np
import pytest
from helpers import LOUDNESS_TOML, build_mean_model, silence, speech_like, write_wav

from voxwatch.cli import main
from voxwatch.config import load_config
from voxwatch.detector import Detector
from voxwatch.training.calibration import catch_rate_at, with_decision


def _alerts(config, files) -> int:
    detector = Detector(config=config)
    return sum(len(detector.score_file(f).alerts) for f in files)


@pytest.fixture
def site(tmp_path):
    model = build_mean_model(tmp_path / "loud.onnx", offset=-9.0, threshold=0.5)  # level 0.1 scores ~0.6
    base = tmp_path / "site.toml"
    base.write_text(f'# my site\n[model]\npath = "{model}"\n\n{LOUDNESS_TOML}\n'
                    '[decision]\nthreshold = "model"\nearly_windows = 2\n\n# capture below\n[capture]\n'
                    'block_ms = 100\n')
    rng = np.random.default_rng(0)
    files = []
    for i in range(3):
        parts = []
        for k in range(4):
            parts += [speech_like(float(rng.uniform(2.5, 4.0)), level=float(rng.uniform(0.02, 0.4)),
                                  seed=10 * i + k), silence(1.5, seed=k)]
        files.append(write_wav(tmp_path / f"real{i}.wav", np.concatenate(parts)))
    return base, files


def test_calibrate_writes_a_config_that_keeps_false_alarms_within_budget(site, tmp_path, capsys):
    base, files = site
    assert _alerts(base, files) > 0  # the card's threshold cries wolf on this site's (loud) real speech
    out = tmp_path / "calibrated.toml"
    assert main(["calibrate", "--min-minutes", "0", *map(str, files), "--config", str(base), "--out", str(out),
                 "--max-false-alarms-per-hour", "0"]) == 0
    said = capsys.readouterr().out
    assert "0 false alarm(s)" in said and f"wrote {out}" in said and "no operating curves" in said
    text = out.read_text()
    assert text.startswith("# my site") and "[capture]" in text and "# capture below" in text  # rest kept
    config = load_config(out)
    threshold = config.pipeline.decision.threshold
    assert config.pipeline.decision.early_windows == 2 and config.pipeline.features.normalize == "none"
    assert 0.5 < threshold <= 1.0
    assert _alerts(out, files) == 0
    lower = tmp_path / "lower.toml"
    lower.write_text(text.replace(f"threshold = {threshold:.6f}", f"threshold = {threshold - 0.01:.6f}"))
    assert _alerts(lower, files) > 0  # the lowest threshold within the budget, not just any high one


def test_a_generous_budget_keeps_more_alarms_and_stdout_gets_the_table(site, capsys):
    base, files = site
    assert main(["calibrate", "--min-minutes", "0", *map(str, files), "--config", str(base),
                 "--max-false-alarms-per-hour", "1e9"]) == 0
    captured = capsys.readouterr()
    assert "[decision]\nthreshold = 0.000000" in captured.out and "threshold 0.0000" in captured.err


def test_calibrate_user_errors_are_one_line(site, tmp_path, capsys):
    base, files = site
    out = tmp_path / "exists.toml"
    out.write_text("keep me\n")
    assert main(["calibrate", "--min-minutes", "0", str(files[0]), "--config", str(base), "--out", str(out)]) == 2
    assert out.read_text() == "keep me\n"
    assert main(["calibrate", "--min-minutes", "0", str(tmp_path / "missing.wav"), "--config", str(base)]) == 2
    quiet = write_wav(tmp_path / "quiet.wav", silence(3.0))
    assert main(["calibrate", "--min-minutes", "0", str(quiet), "--config", str(base)]) == 2
    assert main(["calibrate", "--min-minutes", "0", str(files[0]), "--max-false-alarms-per-hour", "-1"]) == 2
    captured = capsys.readouterr().err
    err = [line for line in captured.splitlines() if "error" in line]  # the rest: the progress bar
    assert "Traceback" not in captured
    assert len(err) == 4 and all(line.startswith("voxwatch: error: ") for line in err)
    assert "exists" in err[0] and "no such file" in err[1] and "no speech" in err[2]


def test_with_decision_replaces_only_the_decision_table_and_catch_rate_reads_the_curve():
    base = "[model]\npath = 'm.onnx'\n\n[decision]\nthreshold = 0.3\n\n# next\n[publish]\nbind = []\n"
    new = with_decision(base, "[decision]\nthreshold = 0.9\n")
    assert new == "[model]\npath = 'm.onnx'\n\n[decision]\nthreshold = 0.9\n\n# next\n[publish]\nbind = []\n"
    assert with_decision("[model]\npath = ''\n", "[decision]\nthreshold = 0.9\n").endswith(
        "path = ''\n\n[decision]\nthreshold = 0.9\n")
    curves = {"corpus-test": [[0.0, 500.0, 1.0], [0.5, 10.0, 0.9], [0.9, 0.0, 0.5]]}
    assert catch_rate_at(curves, 0.6) == {"corpus-test": 0.9}
    assert catch_rate_at(curves, 0.95) == {"corpus-test": 0.5}


def test_with_a_verifier_calibrate_sets_the_verifier_threshold(site, tmp_path, capsys):
    from helpers import build_verifier_model

    base, files = site
    verifier = build_verifier_model(tmp_path / "v.onnx", offset=-9.0, gate=0.3, threshold=0.3)
    config = tmp_path / "cascade.toml"
    config.write_text(base.read_text() + f'\n[verifier]\nmodel = "{verifier}"\n')
    assert _alerts(config, files) > 0  # the verifier's card threshold still cries wolf here
    out = tmp_path / "calibrated.toml"
    assert main(["calibrate", "--min-minutes", "0", *map(str, files), "--config", str(config), "--out", str(out),
                 "--max-false-alarms-per-hour", "0"]) == 0
    said = capsys.readouterr().out
    assert "verifier threshold" in said and "0 false alarm(s)" in said
    calibrated = load_config(out)
    assert calibrated.pipeline.decision == load_config(config).pipeline.decision  # the filter's rules untouched
    assert calibrated.pipeline.verifier.model == str(verifier) and calibrated.pipeline.verifier.gate is None
    assert 0.3 < calibrated.pipeline.verifier.threshold <= 1.0
    assert _alerts(out, files) == 0


def test_calibrate_goes_on_past_unreadable_files_and_warns_when_one_clip_sets_the_threshold(site, tmp_path,
                                                                                            capsys):
    """Quiet real speech, one loud clip among it (a fake filed as real), and a file that is not audio."""
    base, _ = site
    quiet = [write_wav(tmp_path / f"quiet{i}.wav", np.concatenate(
        [silence(0.5), speech_like(3.0, level=0.03, seed=40 + i), silence(1.5)])) for i in range(2)]
    loud = write_wav(tmp_path / "mislabelled.wav", np.concatenate(
        [silence(0.5), speech_like(3.0, level=0.4, seed=50), silence(1.5)]))
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio at all")
    out = tmp_path / "calibrated.toml"
    status = main(["calibrate", "--min-minutes", "0", str(quiet[0]), str(broken), str(loud), str(quiet[1]),
                   "--config", str(base), "--out", str(out), "--max-false-alarms-per-hour", "0"])
    captured = capsys.readouterr()
    assert status == 1 and out.exists()  # the others were calibrated on; the status says something failed
    errors = [line for line in captured.err.splitlines() if line.startswith("voxwatch: error:")]
    assert len(errors) == 2 and "broken.wav" in errors[0] and "1 of 4 file(s) could not be read" in errors[1]
    assert "Traceback" not in captured.err
    threshold = load_config(out).pipeline.decision.threshold
    assert f"set by the clip(s) that would raise alarms just below it: {loud}" in captured.out
    warning = next(line for line in captured.err.splitlines() if line.startswith("warning: one clip alone"))
    without = float(warning.split("(without it: ")[1].split(")")[0])
    assert str(loud) in warning and without < threshold
    assert f"# set by the clip(s) that would raise alarms just below it: {loud}" in out.read_text()


def test_calibrate_refuses_too_little_judged_speech_and_writes_nothing(site, tmp_path, capsys):
    """The README's first step on a few seconds of speech must not move the threshold: exit 2, one line that says
    how much speech there was, and no file."""
    base, files = site
    out = tmp_path / "calibrated.toml"
    assert main(["calibrate", str(files[0]), "--config", str(base), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    err = [line for line in captured.err.splitlines() if line.startswith("voxwatch: error:")]
    assert len(err) == 1 and "min of real speech was judged" in err[0] and "at least 10 min" in err[0]
    assert not out.exists() and "Traceback" not in captured.err and captured.out == ""
    assert main(["calibrate", "--min-minutes", "-1", str(files[0]), "--config", str(base)]) == 2


def test_with_a_verifier_calibrate_names_the_deciding_clip_and_warns_when_one_alone_sets_it(tmp_path, capsys):
    from helpers import build_mean_model, build_verifier_model

    model = build_mean_model(tmp_path / "m.onnx", offset=-6.0)
    verifier = build_verifier_model(tmp_path / "v.onnx", offset=-9.0, gate=0.0, threshold=0.3)
    config = tmp_path / "cascade.toml"
    config.write_text(f'[model]\npath = "{model}"\n[features]\nkind = "logfbank"\nnfilt = 40\n'
                      f'normalize = "none"\n[verifier]\nmodel = "{verifier}"\n')
    quiet = [write_wav(tmp_path / f"quiet{i}.wav", np.concatenate(
        [silence(0.5), speech_like(3.0, level=0.03, seed=60 + i), silence(1.5)])) for i in range(2)]
    loud = write_wav(tmp_path / "odd-one.wav", np.concatenate(
        [silence(0.5), speech_like(3.0, level=0.6, seed=70), silence(1.5)]))
    assert main(["calibrate", "--min-minutes", "0", str(quiet[0]), str(loud), str(quiet[1]), "--config", str(config),
                 "--max-false-alarms-per-hour", "0"]) == 0
    captured = capsys.readouterr()
    assert "[verifier]" in captured.out and "[decision]" not in captured.out
    assert "set by the clip(s) that would raise alarms just below it:" in captured.err and "odd-one.wav" in captured.err
    assert "warning: one clip alone sets the threshold" in captured.err


def test_on_a_call_line_calibrate_sets_the_telephone_threshold_only(site, tmp_path, capsys):
    """Audio with nothing above 4 kHz (a call) calibrates the verifier's telephone-band threshold; the wideband
    one stays the card's."""
    from helpers import build_verifier_model
    from test_telephone_band import band_limited

    from voxwatch.pipeline.sources import load_audio

    base, files = site
    calls = [write_wav(tmp_path / f"call{i}.wav", np.clip(3 * band_limited(load_audio(f)), -1, 1))
             for i, f in enumerate(files)]
    verifier = build_verifier_model(tmp_path / "v.onnx", offset=-9.0, gate=0.3, threshold=0.3)
    config = tmp_path / "cascade.toml"
    config.write_text(base.read_text() + f'\n[verifier]\nmodel = "{verifier}"\n')
    assert _alerts(config, calls) > 0
    out = tmp_path / "calibrated.toml"
    assert main(["calibrate", "--min-minutes", "0", *map(str, calls), "--config", str(config), "--out", str(out),
                 "--max-false-alarms-per-hour", "0"]) == 0
    said = capsys.readouterr().out
    assert "verifier (telephone band) threshold" in said and "[verifier] telephone_threshold" in said
    calibrated = load_config(out).pipeline.verifier
    assert calibrated.threshold is None and 0.3 < calibrated.telephone_threshold <= 1.0
    assert _alerts(out, calls) == 0
