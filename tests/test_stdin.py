"""``score -`` and ``replay -``: audio from a pipe, encoded (WAV) or raw PCM (s16le/f32le at any rate)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly


def voxwatch(*args: str, data: bytes) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voxwatch", *args], input=data, capture_output=True, timeout=120)


def test_score_reads_wav_and_raw_pcm_from_stdin_like_the_file(loud_model, loud_config, audio_files):
    path = audio_files["two"]
    common = ["score", "--json", "--model", str(loud_model), "--config", str(loud_config)]
    from_file = json.loads(voxwatch(*common, str(path), data=b"").stdout)
    from_wav = json.loads(voxwatch(*common, "-", data=path.read_bytes()).stdout)
    assert from_wav["spans"] == from_file["spans"] and from_wav["file"] == "-"
    audio, rate = sf.read(path, dtype="float32")
    s16_8k = (np.clip(resample_poly(audio, 1, 2), -1, 1) * 32767).astype("<i2").tobytes()
    from_raw = json.loads(voxwatch(*common, "--raw-rate", "8000", "-", data=s16_8k).stdout)
    assert [s["verdict"] for s in from_raw["spans"]] == ["fake", "real"]
    f32 = audio.astype("<f4").tobytes()
    from_f32 = json.loads(voxwatch(*common, "--raw-rate", str(rate), "--raw-format", "f32le", "-", data=f32).stdout)
    assert from_f32["spans"] == from_file["spans"]


def test_replay_reads_raw_pcm_from_stdin(loud_model, loud_config, audio_files):
    audio, _ = sf.read(audio_files["loud"], dtype="float32")
    proc = voxwatch("replay", "--no-publish", "--json", "--model", str(loud_model), "--config", str(loud_config),
                    "--raw-rate", "16000", "-", data=(audio * 32767).astype("<i2").tobytes())
    assert proc.returncode == 0, proc.stderr
    [stream] = json.loads(proc.stdout)["streams"]
    assert stream["stream"] == "stdin" and stream["state"] == "ended" and stream["fake"] == 1


def test_stdin_that_is_not_audio_is_one_line():
    proc = voxwatch("score", "-", data=b"junk\n")
    assert proc.returncode == 1
    assert proc.stderr.decode().strip().splitlines() == [
        "voxwatch: error: standard input: cannot decode audio (Format not recognised); for raw PCM give --raw-rate"]
