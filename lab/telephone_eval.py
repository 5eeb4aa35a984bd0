"""Telephone false alarms per codec, bundled model against a candidate, at the shipped settings (lab only).

``python -m lab.telephone_eval --data SET [--data SET2 ...] --model CANDIDATE.onnx [--baseline M] [--split dev]``

Every clip of the sets' split is replayed once per model through the daemon path (``voxwatch.training.alarms``),
then judged by the filter alone at its card threshold and as the cascade with the bundled verifier (its card's
gate, fusion and threshold). Per set and per codec (the ``+codec`` suffix that
``python -m voxwatch.training.telephone copy`` gives a source; ``clean`` for none): false alarms per hour of
real speech, fake utterances caught, daemon-path EER. Then a paired bootstrap over clips (real and fake apart,
the same draw for both models) of the difference candidate - baseline in false alarms per hour and in catch,
at the fixed shipped settings (``lab.recipes.compare_models`` re-chooses the threshold per draw instead),
pooled over the clean sets and over the telephone copies. ``--json`` writes every figure; ``--cache DIR`` keeps
each model's traces per set (keyed by the model file's hash), so a second candidate replays only itself.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
from collections import defaultdict
from pathlib import Path

import numpy as np

# pools of telephone rows: every codec, all but Codec2 (a parametric vocoder: real speech through it is vocoded
# speech), and the chains of the issue's measurement (G.711 u-law, GSM 06.10, Opus narrowband)
CODEC_POOLS = {"telephone": ("ulaw", "alaw", "gsm", "g726", "codec2", "opus", "speex"),
               "telephone-no-codec2": ("ulaw", "alaw", "gsm", "g726", "opus", "speex"),
               "telephone-ulaw-gsm-opus": ("ulaw", "gsm", "opus")}


def _group(source: str) -> str:
    return source.rsplit("+", 1)[1] if "+" in source else "clean"


def clip_rows(traces, settings, threshold, rule=None) -> list[dict]:
    """Per clip: label, codec, real seconds, alerts (real) or (caught, judged) utterances (fake), flag score."""
    from voxwatch.training import alarms

    rows = []
    for t in traces:
        judgements = alarms.decide(t, settings, threshold, rule)
        caught, judged, _ = alarms._count_utterances(judgements, settings)
        rows.append({"label": t.label, "codec": _group(t.source), "seconds": t.duration_s,
                     "alerts": sum(j.kind == "alert" for j in judgements), "caught": caught, "judged": judged,
                     "flag": alarms.flag_score(t, settings, rule, threshold)})
    return rows


def _pick(rows: list[dict], codec: str) -> list[dict]:
    return rows if codec == "all" else [r for r in rows if r["codec"] == codec]


def figures(rows: list[dict]) -> dict:
    from voxwatch.training.metrics import eer

    real = [r for r in rows if r["label"] == 0]
    fake = [r for r in rows if r["label"] == 1]
    hours = sum(r["seconds"] for r in real) / 3600
    judged = sum(r["judged"] for r in fake)
    out = {"real_clips": len(real), "fake_clips": len(fake), "real_min": round(60 * hours, 2),
           "false_alarms": sum(r["alerts"] for r in real),
           "fa_per_hour": sum(r["alerts"] for r in real) / hours if hours else float("nan"),
           "caught": sum(r["caught"] for r in fake), "utterances": judged,
           "catch": sum(r["caught"] for r in fake) / judged if judged else float("nan")}
    if real and fake:
        labels = np.array([r["label"] for r in rows])
        out["eer"] = eer(labels, np.array([r["flag"] for r in rows]))[0]
    return out


def paired_bootstrap(base: list[dict], cand: list[dict], resamples: int, seed: int) -> dict:
    """95% intervals of candidate - baseline in false alarms per hour and catch at fixed settings."""
    rng = np.random.default_rng(seed)
    real = [i for i, r in enumerate(base) if r["label"] == 0]
    fake = [i for i, r in enumerate(base) if r["label"] == 1]
    sec = np.array([base[i]["seconds"] for i in real])
    a_b, a_c = (np.array([s[i]["alerts"] for i in real], float) for s in (base, cand))
    c_b, c_c = (np.array([s[i]["caught"] for i in fake], float) for s in (base, cand))
    j_b, j_c = (np.array([s[i]["judged"] for i in fake], float) for s in (base, cand))
    d_fa, d_catch = [], []
    for _ in range(resamples):
        ri = rng.integers(len(real), size=len(real))
        fi = rng.integers(len(fake), size=len(fake))
        hours = sec[ri].sum() / 3600
        d_fa.append((a_c[ri].sum() - a_b[ri].sum()) / hours)
        d_catch.append(c_c[fi].sum() / max(j_c[fi].sum(), 1) - c_b[fi].sum() / max(j_b[fi].sum(), 1))
    hours = sec.sum() / 3600

    def spread(d: list[float], full: float) -> dict:
        lo, hi = np.percentile(d, [2.5, 97.5])
        return {"diff": float(full), "lo": float(lo), "hi": float(hi)}

    return {"fa_per_hour": spread(d_fa, (a_c.sum() - a_b.sum()) / hours),
            "catch": spread(d_catch, c_c.sum() / max(j_c.sum(), 1) - c_b.sum() / max(j_b.sum(), 1))}


def cached_traces(cache: Path | None, model: Path, data: str, split: str, make):
    """``make()``'s traces, kept in ``cache`` under the model's hash, the set's path and the split."""
    if cache is None:
        return make()
    key = hashlib.sha256(model.read_bytes()).hexdigest()[:16]
    path = cache / f"{key}-{hashlib.sha256(f'{Path(data).resolve()}|{split}'.encode()).hexdigest()[:12]}.pkl"
    if path.is_file():
        return pickle.loads(path.read_bytes())
    traces = make()
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(traces))
    return traces


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.telephone_eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", required=True, help="labelled set (repeat)")
    parser.add_argument("--model", required=True, help="the candidate ONNX model with its card")
    parser.add_argument("--baseline", help="the model to beat (default: bundled)")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--cache", type=Path, help="keep traces here (filter and verifier scores)")
    args = parser.parse_args(argv)

    from lab.recipes.select_rules import detector_for
    from voxwatch.config import Config
    from voxwatch.models import default_verifier_path
    from voxwatch.pipeline.cascade import VerifierSettings, resolve_rule
    from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
    from voxwatch.training import alarms
    from voxwatch.training.datasets import load_dataset, select

    settings = Config().pipeline.decision
    verifier = OnnxVerifier(default_verifier_path())
    rule = resolve_rule(VerifierSettings(), verifier.card)
    paths = {Path(d).name: d for d in args.data}
    sets = {Path(d).name: select(load_dataset(d), args.split) for d in args.data}
    rows: dict[str, dict[str, dict[str, list[dict]]]] = {}  # model side -> stage -> set -> clip rows
    for side, name in (("baseline", args.baseline), ("candidate", args.model)):
        model, detector = detector_for(name)
        rows[side] = defaultdict(dict)
        for set_name, clips in sets.items():
            def make(clips=clips, set_name=set_name, detector=detector, model=model):
                traces = alarms.trace_clips(detector, clips, label=f"{model.name}: {set_name}")
                return traces, alarms.with_verifier_scores(traces, verifier, label=f"verifier: {set_name}")

            traces, scored = cached_traces(args.cache, Path(model), paths[set_name], args.split, make)
            rows[side]["filter"][set_name] = clip_rows(traces, settings, detector.threshold)
            rows[side]["cascade"][set_name] = clip_rows(scored, settings, detector.threshold, rule)
        rows[side]["threshold"] = detector.threshold
    out: dict = {"split": args.split, "baseline": args.baseline or "bundled", "candidate": args.model,
                 "thresholds": {s: rows[s]["threshold"] for s in rows}, "sets": {}, "pooled": {}}
    print(f"thresholds: baseline {rows['baseline']['threshold']:.4f}, "
          f"candidate {rows['candidate']['threshold']:.4f}")
    print("| set | codec | stage | real min | FA/h base | FA/h cand | caught base | caught cand | EER base | "
          "EER cand |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for set_name in sets:
        for stage in ("filter", "cascade"):
            base, cand = rows["baseline"][stage][set_name], rows["candidate"][stage][set_name]
            codecs = ["all"] + sorted({r["codec"] for r in base} - {"clean"})
            for codec in codecs:
                fb, fc = figures(_pick(base, codec)), figures(_pick(cand, codec))
                out["sets"].setdefault(set_name, {}).setdefault(stage, {})[codec] = {"baseline": fb,
                                                                                     "candidate": fc}
                print(f"| {set_name} | {codec} | {stage} | {fb['real_min']:.1f} | {fb['fa_per_hour']:.1f} | "
                      f"{fc['fa_per_hour']:.1f} | {100 * fb['catch']:.1f}% | {100 * fc['catch']:.1f}% | "
                      f"{100 * fb.get('eer', float('nan')):.2f}% | {100 * fc.get('eer', float('nan')):.2f}% |")
    phone = [s for s in sets if any(r["codec"] != "clean" for r in rows["baseline"]["filter"][s])]
    print()
    print(f"pools: clean = {', '.join(s for s in sets if s not in phone)}; the others = {', '.join(phone)}, "
          "rows of the codecs named")
    print("| pool | stage | real min | FA/h base | FA/h cand | diff FA/h [95%] | caught base | caught cand | "
          "diff caught [95%] | EER base | EER cand |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    everything = tuple(CODEC_POOLS["telephone"])
    pools = {"clean": ([s for s in sets if s not in phone], ("clean",))}
    pools.update({name: (phone, codecs or everything) for name, codecs in CODEC_POOLS.items()})
    for pool, (names, codecs) in pools.items():
        if not names:
            continue
        for stage in ("filter", "cascade"):
            base = [r for s in names for r in rows["baseline"][stage][s] if r["codec"] in codecs]
            cand = [r for s in names for r in rows["candidate"][stage][s] if r["codec"] in codecs]
            fb, fc = figures(base), figures(cand)
            boot = paired_bootstrap(base, cand, args.resamples, args.seed)
            out["pooled"].setdefault(pool, {})[stage] = {"sets": names, "codecs": list(codecs), "baseline": fb,
                                                         "candidate": fc, "bootstrap": boot}
            d, c = boot["fa_per_hour"], boot["catch"]
            print(f"| {pool} | {stage} | {fb['real_min']:.1f} | {fb['fa_per_hour']:.1f} | {fc['fa_per_hour']:.1f} | "
                  f"{d['diff']:+.1f} [{d['lo']:+.1f}, {d['hi']:+.1f}] | {100 * fb['catch']:.1f}% | "
                  f"{100 * fc['catch']:.1f}% | {100 * c['diff']:+.1f} [{100 * c['lo']:+.1f}, {100 * c['hi']:+.1f}] | "
                  f"{100 * fb.get('eer', float('nan')):.2f}% | {100 * fc.get('eer', float('nan')):.2f}% |")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
