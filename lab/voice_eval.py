"""Clone watch's evaluation in the lab: set views for ``voxwatch eval --voices``, the S-norm cohort, scoring
comparisons.

    python -m lab.voice_eval view --data ../shared/data/extra --rename tortoise-ref-=tortoise- \
        --out ../data/extra-voices
    voxwatch eval --voices --data ../data/extra-voices --split dev
    python -m lab.voice_eval cohort      # the shipped voxwatch/models/voice-cohort.npy and its card
    python -m lab.voice_eval fusion --data ../data/hours-voices --split dev --real-split any \
        --cache ../data/cache/voices     # clone watch's fusion with the verifier: calibration.FUSION_*

``view``: a manifest with absolute paths into the set (nothing is copied) whose ``speaker`` column is rewritten by
explicit prefix renames: the extra corpus names Tortoise's clones ``tortoise-NAME`` and the real reference clips of
the same person ``tortoise-ref-NAME``; renaming the prefix makes them one speaker, as ``eval --voices`` needs (a
spoof clip's speaker names the speaker it imitates). Findings: ``lab/notes/voice-encoder.md``.
"""

from __future__ import annotations

import argparse
import csv
import re
from collections.abc import Sequence
from pathlib import Path

from lab.command_errors import LabError, run_command

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"

Row = dict[str, str]


Rename = tuple[str, str, bool]  # (old, new, regular expression?)


def parse_renames(prefixes: Sequence[str], patterns: Sequence[str] = ()) -> list[Rename]:
    renames: list[Rename] = []
    for item, regex in [(p, False) for p in prefixes] + [(p, True) for p in patterns]:
        old, sep, new = item.partition("=")
        if not sep or not old:
            raise LabError(f"rename {item!r}: give OLD=NEW")
        if regex:
            try:
                re.compile(old)
            except re.error as exc:
                raise LabError(f"--rename-re {item!r}: {exc}") from None
        renames.append((old, new, regex))
    return renames


def renamed(speaker: str, renames: list[Rename]) -> str:
    """The first rename that fits: a prefix replaced, or a regular expression matched from the start (``re.sub``
    replacement syntax, so ``\\1`` is the first group)."""
    for old, new, regex in renames:
        if regex:
            if re.match(old, speaker):
                return re.sub(old, new, speaker, count=1)
        elif speaker.startswith(old):
            return new + speaker[len(old):]
    return speaker


def read_rows(data: Path) -> tuple[list[Row], list[str]]:
    manifest = data / "manifest.csv"
    if not manifest.is_file():
        raise LabError(f"{data}: no manifest.csv")
    with open(manifest, newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        columns = list(reader.fieldnames or [])
    if "speaker" not in columns:
        raise LabError(f"{manifest}: no speaker column")
    return [{**r, "path": str((data / r["path"]).resolve())} for r in rows], columns


def write_view(data: Path, out: Path, renames: list[Rename]) -> int:
    """The view's manifest (absolute paths, speakers renamed); returns how many speakers were renamed."""
    rows, columns = read_rows(data)
    changed = {r["speaker"] for r in rows if renamed(r["speaker"], renames) != r["speaker"]}
    view = [{**r, "speaker": renamed(r["speaker"], renames)} for r in rows]
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "manifest.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(view)
    return len(changed)


def cmd_view(args: argparse.Namespace) -> int:
    n = write_view(Path(args.data), Path(args.out), parse_renames(args.rename, args.rename_re))
    print(f"{args.out}/manifest.csv: {n} speakers renamed")
    return 0


SPEECHCOMMANDS_ID = re.compile(r"[-_]([0-9a-f]{8})_nohash_")


def cohort_speaker(clip) -> str:
    """The speaker a cohort entry is made for: the manifest's, except for Speech Commands, whose ``_unknown_``
    words are filed under the word (``sc-backward``): its file names carry the speaker id."""
    if clip.source == "speechcommands":
        found = SPEECHCOMMANDS_ID.search(clip.path.name)
        if found:
            return f"sc-{found.group(1)}"
    return clip.speaker


def cohort_groups(paths: Sequence[str], exclude_sources: Sequence[str] = ()) -> dict[str, list]:
    """Real clips of the ``train`` split of each set, by speaker (``set/speaker``), in path order."""
    from voxwatch.training.datasets import load_dataset

    groups: dict[str, list] = {}
    for path in paths:
        name = Path(path).name
        for clip in load_dataset(path, "manifest"):
            if clip.label or clip.split != "train" or clip.source in exclude_sources or not clip.speaker:
                continue
            groups.setdefault(f"{name}/{cohort_speaker(clip)}", []).append(clip)
    return {k: sorted(v, key=lambda c: str(c.path)) for k, v in sorted(groups.items())}


def _shown(path: str) -> str:
    """A path as the repository sees it (relative to the checkout), for cards."""
    import os

    return os.path.relpath(Path(path).resolve(), REPO)


def cmd_cohort(args: argparse.Namespace) -> int:
    """One embedding per training speaker (their trimmed speech joined, up to --max-speech), as the S-norm
    cohort: embeddings only, float16, and a card that says where they came from."""
    import numpy as np

    from voxwatch.pipeline.sources import load_audio
    from voxwatch.training.pool import counting
    from voxwatch.training.voice_cache import CachingEncoder
    from voxwatch.voices.cohort import save_cohort

    encoder = CachingEncoder(cache_dir=args.cache)
    rate = encoder.card.features.sample_rate
    groups = cohort_groups(args.data, args.exclude_source)
    vectors, used, sources, licences, speech_total = [], {}, {}, set(), 0.0
    with counting("cohort speakers", len(groups)) as advance:
        for speaker, clips in groups.items():
            pieces, have = [], 0
            for clip in clips:
                if have >= args.max_speech * rate:
                    break
                speech = encoder.speech(load_audio(clip.path))
                pieces.append(speech)
                have += len(speech)
            advance()
            if have < args.min_speech * rate:
                continue
            speech = np.concatenate(pieces)[: int(args.max_speech * rate)]
            vectors.append(encoder.embed_speech(speech).vector)
            used[speaker] = round(len(speech) / rate, 1)
            key = f"{speaker.split('/')[0]}:{clips[0].source}"
            sources[key] = sources.get(key, 0) + 1
            licences.add(clips[0].license)
            speech_total += len(speech) / rate
    encoder.cache.save()
    card = {
        "encoder": {"model_id": encoder.model_id, "sha256": encoder.sha256,
                    "feature_hash": encoder.card.features.digest()},
        "top_k": args.top_k,
        "entries": len(vectors),
        "from": "real speech of the train split of " + ", ".join(Path(p).name for p in args.data)
                + f" (embeddings only: one per speaker, their trimmed speech joined up to {args.max_speech:g} s, "
                  f"speakers with less than {args.min_speech:g} s left out)",
        "speech_s": round(speech_total, 1),
        "speakers_per_source": sources,
        "excluded_sources": list(args.exclude_source),
        "licences": sorted(licences),
        "built_by": "python -m lab.voice_eval cohort " + " ".join(
            [f"--data {_shown(p)}" for p in args.data] + [f"--exclude-source {s}" for s in args.exclude_source]
            + [f"--top-k {args.top_k}", f"--out {_shown(args.out)}"]),
    }
    save_cohort(args.out, np.stack(vectors), card)
    print(f"{args.out}: {len(vectors)} speakers ({speech_total / 60:.1f} min of speech) from "
          + ", ".join(f"{k} {v}" for k, v in sorted(sources.items())))
    return 0


def snorm_scorer(cohort):
    """A ``voice_eval`` scorer whose ``similarity`` is the cosine, whose ``clone_score`` is the negated S-norm
    score against the voice's centroid (for EERs with one global threshold), claimed as the product claims (cosine
    at or above ``calibration.CLAIM``)."""
    from voxwatch.voices import calibration as cal
    from voxwatch.voices.check import VoiceMatch
    from voxwatch.voices.cohort import snorm

    memo: dict[int, tuple] = {}

    def score(vector, voiceprint):
        key = id(voiceprint)
        if key not in memo:
            centroid = voiceprint.centroid()
            memo[key] = (voiceprint, centroid, cohort.stats(centroid))
        _, centroid, enrol_stats = memo[key]
        cos = float(vector @ centroid)
        s = snorm(cos, enrol_stats, cohort.stats(vector))
        return VoiceMatch(voiceprint.name, cos, float(-s), "clone" if cos >= cal.CLAIM else "none")
    return score


def cosine_scorer(vector, voiceprint):
    from voxwatch.voices import calibration as cal
    from voxwatch.voices.check import VoiceMatch, similarity

    s = similarity(vector, voiceprint)
    return VoiceMatch(voiceprint.name, s, -s, "clone" if s >= cal.CLAIM else "none")


def cmd_scoring(args: argparse.Namespace) -> int:
    """Global-threshold EERs of raw cosine and of S-norm (several top_k): clones against held-out genuine clips,
    and other people against held-out genuine clips (the nearest voice), per k."""
    from voxwatch.training import voice_eval as ve
    from voxwatch.training import voice_figures as vf
    from voxwatch.training.voice_cache import CachingEncoder
    from voxwatch.voices.cohort import load_cohort

    encoder = CachingEncoder(cache_dir=args.cache)
    clips = ve.load_set(args.data)
    plan = ve.plan(clips, args.split, args.real_split)
    ks = ve.parse_ks(args.k)
    target_reals = {c.path for t in plan.targets.values() for c in t.reals}
    todo = [c for t in plan.targets.values() for c in (*t.reals, *t.clones)] + list(plan.others)
    embedded = ve.embed_clips(todo, encoder, args.min_speech, keep_audio=lambda c: c.path in target_reals)
    encoder.cache.save()
    plan, dropped = ve.drop_duplicates(plan, embedded)
    cohort = load_cohort(args.cohort)
    scorers = [("cosine", cosine_scorer)] + [(f"snorm-{k}", snorm_scorer(cohort.with_top_k(k)))
                                             for k in args.top_k]
    enroller = ve.product_enroller(encoder)
    print(f"{args.data} split {args.split} (reals: {args.real_split}), {len(plan.targets)} targets, cohort "
          f"{len(cohort.embeddings)} speakers, {dropped} duplicate real clips dropped")
    for name, scorer in scorers:
        trials = ve.run_trials(plan, embedded, ks, enroller, scorer)
        for k, ts in trials.items():
            g = [t.clone_score for t in ts if t.kind == "genuine"]
            c = [t.clone_score for t in ts if t.kind == "clone"]
            o = [t.clone_score for t in ts if t.kind == "other"]
            per_system = {}
            for system in sorted({t.system for t in ts if t.kind == "clone"}):
                voices = {t.voice for t in ts if t.kind == "clone" and t.system == system}
                per_system[system] = vf.eer([t.clone_score for t in ts if t.kind == "genuine" and t.voice in voices],
                                            [t.clone_score for t in ts if t.kind == "clone" and t.system == system])
            mean_sys = sum(v for v in per_system.values() if v is not None) / max(1, len(per_system))
            caught, _, _ = ve.caught_at_budget([t for t in ts if t.kind == "genuine"],
                                               [t for t in ts if t.kind == "clone"], 1.0)
            genuine = sorted(g)
            at1 = genuine[int(0.99 * (len(genuine) - 1))]  # 1 % of genuine trials above: flagged as clones
            caught1 = sum(1 for t in ts if t.kind == "clone" and t.match != "none" and t.clone_score > at1) / len(c)
            print(f"{name:10s} k={k:5s} clone EER {100 * (vf.eer(g, c) or 0):5.1f}%  mean per-system "
                  f"{100 * mean_sys:5.1f}%  caught <=1 FA/h {100 * (caught or 0):5.1f}%  at 1% genuine "
                  f"{100 * caught1:5.1f}%  others EER {100 * (vf.eer(g, o) or 0):5.1f}%  (genuine {len(g)}, "
                  f"clones {len(c)}, others {len(o)})")
    return 0


def cmd_fusion(args: argparse.Namespace) -> int:
    """Clone watch fused with the bundled verifier, fitted on one split's trials (dev only: the test split is for
    ``voxwatch eval --voices`` once the weights are in): prints ``voxwatch/voices/calibration.py``'s FUSION_*
    lines and the split's figures, S-norm alone against fused, at every k."""
    from voxwatch.errors import VoxwatchError
    from voxwatch.models import default_verifier_path
    from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
    from voxwatch.training import voice_eval as ve
    from voxwatch.training import voice_figures as vf
    from voxwatch.training.voice_cache import CachingEncoder, VerifierScores

    path = default_verifier_path()
    if path is None:
        raise LabError("this checkout has no bundled verifier (voxwatch/models/verifier.onnx)")
    try:
        ks = ve.parse_ks(args.k)
        if args.fit_k not in ks:
            raise LabError(f"--fit-k {args.fit_k} is not among --k {args.k}")
        verifier = OnnxVerifier(path)
        chains = ve.telephone_chains() if args.telephone else []
        _, trials, dropped = ve.set_trials(args.data, ks, args.split, args.real_split, CachingEncoder(
            cache_dir=args.cache), args.min_speech, chains, scores=VerifierScores(verifier, args.cache))
        names = [name for name, _ in chains]
        fusion, fitted_on = vf.fit_fusion(trials[args.fit_k], args.budget, verifier.sha256, names)
    except (VoxwatchError, ValueError) as exc:
        raise LabError(str(exc)) from None
    print(f"# {args.data} split {args.split} (reals {args.real_split}), k = {args.fit_k}, {dropped} duplicate "
          f"real clips dropped; fitted on {fitted_on}")
    print(f"FUSION_CLONE = {fusion.clone:.4f}\nFUSION_VERIFIER = {fusion.verifier:.4f}\n"
          f"FUSION_BIAS = {fusion.bias:.4f}\nFUSION_THRESHOLD = {fusion.threshold:.2f}\n"
          f'FUSION_VERIFIER_SHA256 = "{verifier.sha256}"  # {verifier.model_id}')
    for entry in vf.summarize(trials, args.budget, names, fusion):
        for label, f in (("S-norm", entry), ("fused", entry["fused"])):
            o = f["overall"]
            print(f"k={entry['k']:5s} {entry['condition']:9s} {label:6s}  EER {100 * (o['eer'] or 0):5.1f}%  "
                  f"caught <= {args.budget:g} FA/h {100 * (o['caught_at_budget'] or 0):5.1f}%  flagged "
                  f"{100 * (o['caught'] or 0):5.1f}%  genuine FA/h {o['genuine_false_alarms_per_hour']}  others FA/h "
                  f"{f['others']['false_alarms_per_hour']}  (genuine {o['genuine_trials']}, clones "
                  f"{o['clone_trials']})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.voice_eval", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    view = sub.add_parser("view", help="a view of a set with its speaker column renamed by prefix")
    view.add_argument("--data", required=True, help="a set with a manifest.csv")
    view.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                      help="speakers starting with OLD start with NEW instead; repeatable, first match wins")
    view.add_argument("--rename-re", action="append", default=[], metavar="PATTERN=REPL",
                      help="speakers matching the regular expression PATTERN (from the start) are rewritten with "
                           "REPL (re.sub syntax); tried after the --rename prefixes")
    view.add_argument("--out", required=True, help="folder for the view's manifest.csv")
    view.set_defaults(run=cmd_view)
    cohort = sub.add_parser("cohort", help="the S-norm cohort: one embedding per training speaker")
    cohort.add_argument("--data", action="append", default=None,
                        help="a set with a manifest.csv; repeatable (default: the shared corpus and extra)")
    cohort.add_argument("--exclude-source", action="append", default=[], metavar="SOURCE",
                        help="leave this source's speakers out (lab experiments); repeatable")
    cohort.add_argument("--out", default=str(REPO / "voxwatch" / "models" / "voice-cohort.npy"))
    cohort.add_argument("--top-k", type=int, default=100, help="the card's top_k for adaptive S-norm")
    cohort.add_argument("--min-speech", type=float, default=3.0, help="seconds of speech a speaker needs")
    cohort.add_argument("--max-speech", type=float, default=60.0, help="seconds of speech used per speaker")
    cohort.add_argument("--cache", help="embedding cache folder (as eval --voices --cache)")
    cohort.set_defaults(run=cmd_cohort)
    scoring = sub.add_parser("scoring", help="global-threshold EERs: raw cosine against S-norm")
    scoring.add_argument("--data", required=True)
    scoring.add_argument("--split", default="dev")
    scoring.add_argument("--real-split", default="same", choices=("same", "any"))
    scoring.add_argument("--k", default="1,3,all-2")
    scoring.add_argument("--cohort", help="the cohort .npy (default: the bundled one)")
    scoring.add_argument("--top-k", type=int, nargs="+", default=[25, 50, 100, 200])
    scoring.add_argument("--min-speech", type=float, default=3.0)
    scoring.add_argument("--cache")
    scoring.set_defaults(run=cmd_scoring)
    fusion = sub.add_parser("fusion", help="fit clone watch's fusion with the bundled verifier (on dev)")
    fusion.add_argument("--data", required=True, help="a set for eval --voices (e.g. ../data/hours-voices)")
    fusion.add_argument("--split", default="dev")
    fusion.add_argument("--real-split", default="same", choices=("same", "any"))
    fusion.add_argument("--k", default="1,3", help="the ks to report (default 1,3)")
    fusion.add_argument("--fit-k", default="3", help="the k whose trials the fusion is fitted on (default 3)")
    fusion.add_argument("--budget", type=float, default=1.0, help="false clone alarms per hour of genuine speech")
    fusion.add_argument("--telephone", action="store_true", help="genuine telephone copies in the fit too")
    fusion.add_argument("--min-speech", type=float, default=3.0)
    fusion.add_argument("--cache", help="embedding and verifier score cache folder (as eval --voices --cache)")
    fusion.set_defaults(run=cmd_fusion)
    args = parser.parse_args(argv)
    if getattr(args, "data", "") is None:
        args.data = [str(SHARED / "corpus"), str(SHARED / "extra")]
    return run_command(args)


if __name__ == "__main__":
    raise SystemExit(main())
