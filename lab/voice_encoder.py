"""The speaker encoder behind clone watch: Resemblyzer's GE2E exported to ONNX, and its measurements.

    python -m lab.voice_encoder export voxwatch/models/voice-encoder.onnx [--wheel Resemblyzer-0.1.4-py3-none-any.whl]
    python -m lab.voice_encoder bench [MODEL] [--clip FLAC]
    python -m lab.voice_encoder compare [--corpus DIR]     # needs librosa and resemblyzer importable (see the note)
    python -m lab.voice_encoder separation [--extra DIR]
    python -m lab.voice_encoder clonewatch [--extra DIR]

``export`` needs the train extra (torch, onnx). The weights come from the Resemblyzer 0.1.4 wheel on PyPI (its
``resemblyzer/pretrained.pt``); without ``--wheel`` it is fetched with ``pip download --no-deps`` and its sha256 is
checked against the one pinned here. Beside OUT it writes the card (``.json``) and the Apache-2.0 licence text of
the weights (``LICENSE-voice-encoder``). Findings: ``lab/notes/voice-encoder.md``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

WHEEL_NAME = "Resemblyzer-0.1.4-py3-none-any.whl"
WHEEL_SHA256 = "8f12eb2f1a9982d32e8db7856de754709b59c93a77bcf0ff536584b619a9dd1f"
WEIGHTS_IN_WHEEL = "resemblyzer/pretrained.pt"
LICENSE_IN_WHEEL = "Resemblyzer-0.1.4.dist-info/LICENSE"
LICENSE_FILE = "LICENSE-voice-encoder"
HOMEPAGE = "https://github.com/resemble-ai/Resemblyzer"
ATTRIBUTION = ("Speaker encoder weights from Resemblyzer 0.1.4 (resemblyzer/pretrained.pt), Copyright 2019 "
               "Resemble.AI, licensed under the Apache License 2.0; a GE2E encoder (Wan et al. 2018) as trained for "
               "Real-Time-Voice-Cloning by Corentin Jemine. Converted to ONNX by voxwatch (lab/voice_encoder.py), "
               "weights unchanged.")
INPUT_NAME, OUTPUT_NAME = "mels", "embedding"
REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "data" / "corpus"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_wheel(directory: Path) -> Path:
    print(f"fetching {WHEEL_NAME} with pip download --no-deps ...", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "resemblyzer==0.1.4",
                    "-d", str(directory)], check=True)
    return directory / WHEEL_NAME


def build_torch_encoder(state: dict | None):
    """Resemblyzer's VoiceEncoder network (LSTM 3x256, linear 256, ReLU, L2 norm) with its weights (random ones
    when ``state`` is None: the tests' stand-in)."""
    import torch
    from torch import nn

    class GE2E(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(40, 256, 3, batch_first=True)
            self.linear = nn.Linear(256, 256)
            self.relu = nn.ReLU()

        def forward(self, mels):
            _, (hidden, _) = self.lstm(mels)
            raw = self.relu(self.linear(hidden[-1]))
            # the reference divides by the norm alone; the floor only matters for an all-zero embedding
            return raw / torch.clamp(torch.norm(raw, dim=1, keepdim=True), min=1e-12)

    net = GE2E()
    if state is None:
        return net.eval()
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or set(unexpected) - {"similarity_weight", "similarity_bias"}:
        raise SystemExit(f"unexpected checkpoint layout: missing {missing}, unexpected {unexpected}")
    return net.eval()


def synthetic_speech(seconds: float, seed: int) -> np.ndarray:
    """Voice-like test audio: a gliding harmonic source with formant-ish bands, syllable envelope and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    f0 = 110 + 40 * rng.random() + 20 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / 16000
    voice = sum(np.sin(k * phase) / k * (1.5 if 300 < k * 130 < 900 or 1500 < k * 130 < 2500 else 0.3)
                for k in range(1, 30))
    envelope = np.clip(np.sin(2 * np.pi * 3.1 * t + rng.random()), 0, None) ** 0.5
    return (0.1 * voice * envelope + 0.003 * rng.standard_normal(len(t))).astype(np.float32)


def export_onnx(net, out: Path, sample: np.ndarray) -> None:
    """``net`` (partials -> embeddings) to ONNX with the partials as a dynamic batch; checked by onnx."""
    import warnings

    import onnx
    import torch

    with warnings.catch_warnings():  # the TorchScript exporter's deprecation notices
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.from_numpy(np.asarray(sample, np.float32)),), str(out),
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                          opset_version=17, dynamo=False)
    onnx.checker.check_model(onnx.load(str(out)))


def cmd_export(args: argparse.Namespace) -> int:
    try:
        import onnx  # noqa: F401
        import torch
    except ImportError:
        raise SystemExit("torch and onnx are needed: install the train extra (pip install -e '.[train]')") from None
    from voxwatch.pipeline.stages.voice.card import VoiceEncoderCard
    from voxwatch.pipeline.stages.voice.features import VoiceFeatureSettings, partials, preprocess
    from voxwatch.pipeline.stages.voice.session import OnnxVoiceEncoder

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = VoiceFeatureSettings()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = Path(args.wheel) if args.wheel else fetch_wheel(Path(tmp))
        wheel_sha = sha256(wheel)
        if wheel_sha != WHEEL_SHA256:
            raise SystemExit(f"{wheel}: sha256 {wheel_sha} is not the pinned {WHEEL_SHA256}")
        with zipfile.ZipFile(wheel) as archive:
            weights = Path(tmp) / "pretrained.pt"
            weights.write_bytes(archive.read(WEIGHTS_IN_WHEEL))
            (out.parent / LICENSE_FILE).write_bytes(archive.read(LICENSE_IN_WHEEL))
        checkpoint = torch.load(weights, map_location="cpu", weights_only=True)
        net = build_torch_encoder(checkpoint["model_state"])
        step = int(checkpoint.get("step", 0))
        n_params = sum(p.numel() for p in net.parameters())
        print(f"weights: {WEIGHTS_IN_WHEEL} (step {step}, {n_params / 1e6:.2f} M parameters)", flush=True)

        clips = [preprocess(synthetic_speech(s, seed), settings) for seed, s in enumerate((2.0, 4.5, 9.0))]
        batch = np.concatenate([partials(c, settings) for c in clips])
        tmp_onnx = Path(tmp) / "voice-encoder.onnx"
        export_onnx(net, tmp_onnx, batch[:2])
        out.write_bytes(tmp_onnx.read_bytes())
    with torch.no_grad():
        expected = net(torch.from_numpy(batch)).numpy()
    onnx_sha = sha256(out)
    card = VoiceEncoderCard(
        model_id=f"resemblyzer-ge2e-0.1.4-{onnx_sha[:8]}", features=settings, embedding_size=256,
        onnx_sha256=onnx_sha, license="Apache-2.0", license_file=LICENSE_FILE, attribution=ATTRIBUTION,
        source={"package": "Resemblyzer", "version": "0.1.4", "wheel": WHEEL_NAME, "wheel_sha256": WHEEL_SHA256,
                "weights": WEIGHTS_IN_WHEEL, "weights_sha256": sha256_bytes_of(wheel, WEIGHTS_IN_WHEEL),
                "training_step": step, "parameters": n_params, "homepage": HOMEPAGE,
                "exported_by": "lab/voice_encoder.py export (torch.onnx, opset 17)",
                "torch": torch.__version__})
    card.save(out.with_suffix(".json"))
    encoder = OnnxVoiceEncoder(out, threads=1)
    got = encoder.embed_partials(batch)
    parity = float(np.max(np.abs(got - expected)))
    print(f"parity: max |torch - onnxruntime| = {parity:.2e} over {len(batch)} partials", flush=True)
    if not parity <= 1e-4:
        raise SystemExit(f"parity check failed ({parity:.3g} > 1e-4)")
    metrics = {"parity_max_abs": float(f"{parity:.3g}"), "parity_partials": len(batch)}
    metrics.update(bench(out, clip=None, runs=args.runs))
    card = VoiceEncoderCard(**{**card.__dict__, "metrics": metrics})
    card.save(out.with_suffix(".json"))
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB), {out.with_suffix('.json').name}, {LICENSE_FILE}")
    return 0


def sha256_bytes_of(wheel: Path, member: str) -> str:
    with zipfile.ZipFile(wheel) as archive:
        return hashlib.sha256(archive.read(member)).hexdigest()


def bench(model: Path, clip: Path | None, runs: int = 7) -> dict:
    """Cost per second of speech on one core: the encoder alone (ONNX partials) and the whole path (volume,
    VAD trim, mel, partials, ONNX), medians of ``runs`` timings on ``clip`` (default: 20 s of synthetic voice).
    Both the wall clock and the thread's CPU time are measured: on a shared machine the wall clock also counts
    the time the thread waited for a core, the CPU time is the work itself."""
    from voxwatch.pipeline.stages.voice.features import partials
    from voxwatch.pipeline.stages.voice.session import OnnxVoiceEncoder

    encoder = OnnxVoiceEncoder(model, threads=1)
    if clip is not None:
        import soundfile as sf

        audio, rate = sf.read(clip, dtype="float32")
        if rate != 16000:
            raise SystemExit(f"{clip}: {rate} Hz; give a 16 kHz clip")
    else:
        audio = np.concatenate([synthetic_speech(5.0, seed) for seed in range(4)])
    speech = encoder.speech(audio)
    seconds = len(speech) / 16000
    batch = partials(speech, encoder.card.features)
    encoder.embed_partials(batch)  # warm up
    times: dict[str, list[float]] = {"onnx_wall": [], "onnx_cpu": [], "total_wall": [], "total_cpu": []}
    for _ in range(runs):
        for name, work in (("onnx", lambda: encoder.embed_partials(batch)), ("total", lambda: encoder.embed(audio))):
            wall, cpu = time.perf_counter(), time.thread_time()
            work()
            times[f"{name}_cpu"].append(time.thread_time() - cpu)
            times[f"{name}_wall"].append(time.perf_counter() - wall)
    ms = {name: round(1000 * statistics.median(values) / seconds, 2) for name, values in times.items()}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    result = {"ms_per_speech_s_onnx": ms["onnx_wall"], "ms_per_speech_s_total": ms["total_wall"],
              "cpu_ms_per_speech_s_onnx": ms["onnx_cpu"], "cpu_ms_per_speech_s_total": ms["total_cpu"],
              "bench": f"median of {runs} runs, onnxruntime intra-op threads 1, OPENBLAS/OMP threads 1, "
                       f"{seconds:.1f} s of speech ({len(batch)} partials), {os.cpu_count()}-core machine "
                       f"shared with other jobs (load average {load:.1f})"}
    print(f"cost per second of speech, one thread: encoder {ms['onnx_wall']:.2f} ms wall / {ms['onnx_cpu']:.2f} ms "
          f"CPU, whole path {ms['total_wall']:.2f} ms wall / {ms['total_cpu']:.2f} ms CPU", flush=True)
    return result


def cmd_bench(args: argparse.Namespace) -> int:
    from voxwatch.pipeline.stages.voice.card import VoiceEncoderCard
    from voxwatch.pipeline.stages.voice.session import bundled_voice_encoder_path

    model = Path(args.model) if args.model else bundled_voice_encoder_path()
    result = bench(model, Path(args.clip) if args.clip else None, args.runs)
    print(json.dumps(result))
    if args.update_card:
        card = VoiceEncoderCard.load(model.with_suffix(".json"))
        metrics = {k: v for k, v in card.metrics.items() if not k.startswith(("ms_", "cpu_ms_", "bench"))}
        VoiceEncoderCard(**{**card.__dict__, "metrics": {**metrics, **result}}).save(model.with_suffix(".json"))
        print(f"updated {model.with_suffix('.json')}")
    return 0


def manifest(corpus: Path) -> list[dict]:
    with open(corpus / "manifest.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def cmd_compare(args: argparse.Namespace) -> int:
    """numpy front end vs librosa (resemblyzer.audio), and ONNX embeddings vs resemblyzer's VoiceEncoder."""
    import soundfile as sf
    from resemblyzer import VoiceEncoder
    from resemblyzer import audio as reference

    from voxwatch.pipeline.stages.voice.features import VoiceFeatureSettings, mel_spectrogram, preprocess
    from voxwatch.pipeline.stages.voice.session import OnnxVoiceEncoder

    corpus = Path(args.corpus)
    rows = [r for r in manifest(corpus) if r["label"] == "bonafide" and r["source"] in ("librispeech", "ljspeech")]
    rows = rows[: args.n]
    settings = VoiceFeatureSettings()
    ours = OnnxVoiceEncoder(threads=1)
    theirs = VoiceEncoder(device="cpu", verbose=False)
    same_trim, rel, cos, emb_diff, seconds = 0, [], [], [], 0.0
    for row in rows:
        wav, rate = sf.read(corpus / row["path"], dtype="float32")
        assert rate == 16000
        ref_speech = reference.preprocess_wav(wav)
        our_speech = preprocess(wav, settings)
        same_trim += len(ref_speech) == len(our_speech) and bool(np.allclose(ref_speech, our_speech, atol=1e-7))
        ref_mel = reference.wav_to_mel_spectrogram(ref_speech)
        our_mel = mel_spectrogram(ref_speech, settings)
        rel.append(float(np.max(np.abs(ref_mel - our_mel)) / np.max(ref_mel)))
        a = theirs.embed_utterance(ref_speech)
        b = ours.embed(wav).vector
        cos.append(float(a @ b))
        emb_diff.append(float(np.max(np.abs(a - b))))
        seconds += len(wav) / 16000
    print(f"{len(rows)} real clips ({seconds / 60:.1f} min) from {corpus}")
    print(f"preprocess (volume + VAD trim) identical to resemblyzer.audio.preprocess_wav: {same_trim}/{len(rows)}")
    print(f"mel: max |numpy - librosa| / max(librosa), per clip: median {np.median(rel):.2e}, max {np.max(rel):.2e}")
    print(f"embedding (ONNX + numpy front end vs resemblyzer VoiceEncoder + librosa): cosine min {min(cos):.7f}, "
          f"max abs diff median {np.median(emb_diff):.2e}, max {np.max(emb_diff):.2e}")
    return 0


def cmd_separation(args: argparse.Namespace) -> int:
    """Cosine to a voice's centroid: genuine held-out clips, Tortoise clones of the voice, other real speakers."""
    import soundfile as sf

    from voxwatch.pipeline.stages.voice.session import OnnxVoiceEncoder

    encoder = OnnxVoiceEncoder(threads=1)
    extra = Path(args.extra)
    rows = manifest(extra)
    refs: dict[str, list[Path]] = {}
    clones: dict[str, list[Path]] = {}
    for row in rows:
        if row["source"] == "tortoise-refs":
            refs.setdefault(row["speaker"].removeprefix("tortoise-ref-"), []).append(extra / row["path"])
        elif row["source"] == "tortoise":
            clones.setdefault(row["speaker"].removeprefix("tortoise-"), []).append(extra / row["path"])
    voices = sorted(v for v in refs if len(refs[v]) >= 3 and v in clones)
    print(f"{len(voices)} voices with >= 3 real clips and Tortoise clones: {', '.join(voices)}")
    cache: dict[Path, np.ndarray] = {}

    def embed(path: Path) -> np.ndarray:
        if path not in cache:
            audio, _ = sf.read(path, dtype="float32")
            cache[path] = encoder.embed(audio).vector
        return cache[path]

    genuine, cloned, others = [], [], []
    for voice in voices:
        paths = refs[voice]
        for held in range(len(paths)):  # leave one real clip out, enrol on the rest
            enrolled = [embed(p) for i, p in enumerate(paths) if i != held]
            centroid = np.mean(enrolled, axis=0)
            centroid /= np.linalg.norm(centroid)
            genuine.append(float(embed(paths[held]) @ centroid))
        centroid = np.mean([embed(p) for p in paths], axis=0)
        centroid /= np.linalg.norm(centroid)
        cloned += [float(embed(p) @ centroid) for p in clones[voice]]
        others += [float(embed(p) @ centroid) for other in voices if other != voice for p in refs[other]]
    centroids = {}
    for voice in voices:
        c = np.mean([embed(p) for p in refs[voice]], axis=0)
        centroids[voice] = c / np.linalg.norm(c)
    between = [float(centroids[a] @ centroids[b]) for i, a in enumerate(voices) for b in voices[i + 1:]]
    for name, values in (("genuine (leave-one-out)", genuine), ("Tortoise clone", cloned),
                         ("other speakers", others), ("centroid vs centroid", between)):
        v = np.array(values)
        print(f"{name:24s} n={len(v):4d} mean {v.mean():.3f} p5 {np.percentile(v, 5):.3f} "
              f"p95 {np.percentile(v, 95):.3f} min {v.min():.3f} max {v.max():.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.voice_encoder", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="export the ONNX encoder, its card and its licence")
    export.add_argument("out", help="the .onnx to write (card and licence beside it)")
    export.add_argument("--wheel", help=f"a local {WHEEL_NAME} (default: pip download it)")
    export.add_argument("--runs", type=int, default=7, help="timing runs for the card's cost figures")
    export.set_defaults(run=cmd_export)
    bench_parser = sub.add_parser("bench", help="cost per second of speech on one thread")
    bench_parser.add_argument("model", nargs="?", help="the .onnx (default: the bundled encoder)")
    bench_parser.add_argument("--clip", help="a 16 kHz clip to time (default: synthetic voice)")
    bench_parser.add_argument("--runs", type=int, default=7)
    bench_parser.add_argument("--update-card", action="store_true", help="record the figures in the model's card")
    bench_parser.set_defaults(run=cmd_bench)
    compare = sub.add_parser("compare", help="against resemblyzer + librosa (both importable)")
    compare.add_argument("--corpus", default=str(CORPUS))
    compare.add_argument("-n", type=int, default=60, help="clips to compare")
    compare.set_defaults(run=cmd_compare)
    separation = sub.add_parser("separation", help="genuine vs Tortoise clones vs other speakers")
    separation.add_argument("--extra", default=str(CORPUS.parent / "extra"))
    separation.set_defaults(run=cmd_separation)
    clonewatch = sub.add_parser("clonewatch", help="enrol and check end to end on the Tortoise voices")
    clonewatch.add_argument("--extra", default=str(CORPUS.parent / "extra"))
    clonewatch.set_defaults(run=cmd_clonewatch)
    args = parser.parse_args(argv)
    return int(args.run(args) or 0)



def cmd_clonewatch(args: argparse.Namespace) -> int:
    """``voxwatch.voices`` end to end on the Tortoise voices: enrol on all but one real clip (the enrolment's
    10 s minimum lifted), then check the held-out clip, the voice's Tortoise clones and the other voices' clips."""
    from collections import Counter

    import soundfile as sf

    from voxwatch.pipeline.stages.voice.session import OnnxVoiceEncoder
    from voxwatch.voices.check import check
    from voxwatch.voices.enrol import Recording, enrol

    encoder = OnnxVoiceEncoder(threads=1)
    extra = Path(args.extra)
    refs: dict[str, list[Path]] = {}
    clones: dict[str, list[Path]] = {}
    for row in manifest(extra):
        if row["source"] == "tortoise-refs":
            refs.setdefault(row["speaker"].removeprefix("tortoise-ref-"), []).append(extra / row["path"])
        elif row["source"] == "tortoise":
            clones.setdefault(row["speaker"].removeprefix("tortoise-"), []).append(extra / row["path"])
    voices = sorted(v for v in refs if len(refs[v]) >= 3 and v in clones)
    audio = {p: sf.read(p, dtype="float32")[0] for v in voices for p in refs[v] + clones[v]}
    embedded = {p: encoder.embed(a).vector for p, a in audio.items()}
    outcomes: dict[str, Counter] = {"genuine": Counter(), "clone": Counter(), "other": Counter()}
    scores: dict[str, list[float]] = {"genuine": [], "clone": [], "other": []}
    genuine_thresholds = []
    for voice in voices:
        for held in range(len(refs[voice])):
            enrolled = [p for i, p in enumerate(refs[voice]) if i != held]
            vp = enrol(voice, [Recording(p.name, audio[p]) for p in enrolled], encoder, min_speech_s=0.0,
                       force=True, scoring="cosine")  # the first version's scoring, as measured in the note
            genuine_thresholds.append(vp.thresholds.genuine)
            trials = [("genuine", refs[voice][held])] + [("clone", p) for p in clones[voice]] \
                + [("other", p) for o in voices if o != voice for p in refs[o]]
            for kind, path in trials:
                m = check(embedded[path], [vp], expect=voice)
                outcomes[kind][m.match] += 1
                scores[kind].append(m.clone_score)
    print(f"{len(voices)} voices, leave-one-clip-out enrolment; genuine thresholds: median "
          f"{np.median(genuine_thresholds):.3f}, range {min(genuine_thresholds):.3f}-{max(genuine_thresholds):.3f}")
    for kind in ("genuine", "clone", "other"):
        total = sum(outcomes[kind].values())
        shares = ", ".join(f"{m} {outcomes[kind][m] / total:.0%}" for m in ("genuine", "clone", "none"))
        print(f"{kind:8s} n={total:4d}: {shares}; clone_score median {np.median(scores[kind]):.2f}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    raise SystemExit(main())
