"""``python -m lab.voice_eval fusion``: bad input is one line (the fit itself: tests/test_voice_fusion.py)."""

from __future__ import annotations

from lab.voice_eval import main


def test_fusion_bad_input_is_one_error_line(tmp_path, capsys):
    for argv, words in ((["--data", str(tmp_path), "--k", "1"], "--fit-k 3 is not among --k 1"),
                        (["--data", str(tmp_path), "--k", "two"], "--k 'two'"),
                        (["--data", str(tmp_path / "missing")], "no manifest.csv")):
        assert main(["fusion", *argv]) == 2
        out, err = capsys.readouterr()
        lines = err.strip().splitlines()
        assert out == "" and len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], (argv, err)
