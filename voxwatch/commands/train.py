"""``voxwatch train --data PATH --out DIR [--stage filter|verifier]``: train either model stage (needs the ``train``
extra).

Options either stage takes have a default per stage; an option of one stage given with the other is one error
line (``voxwatch train --stage verifier --freq-stride 2``), never silently ignored. The filter's recipe variants
that the shipped model does not use (--arch sepcnn, --loss ocsoftmax, --sam, --teacher/--distill) are the lab's:
``python -m lab.recipes.train_variants`` (lab/README.md).
"""

from __future__ import annotations

import argparse
from typing import Any

from voxwatch.commands.output_paths import OutputFolder

FILTER, VERIFIER = "filter", "verifier"
HELP = "train a model stage on labelled datasets: the filter (default) or the cascade's verifier (needs torch)"
DESCRIPTION = (
    "Train one of the detector's two model stages on the train split of labelled datasets (every --data set "
    "together), choosing the best epoch on their dev split. --stage filter (the default): the TinyCNN that scores "
    "every 2 s speech window; writes best.pt, curves and history to --out, then 'voxwatch export' makes the ONNX "
    "model. --stage verifier: the cascade's ResNet over whole utterances; writes best.pt, history.json and "
    "verifier.onnx + verifier.json (gate, fusion and threshold chosen on dev by the daemon's rules against "
    "--filter-model). Options of one stage are refused with the other. Layouts and recipes: docs/training.md, "
    "docs/verifier.md.")


class _StageOptions:
    """Adds options with a default per stage (a stage missing from ``defaults`` does not take the option); the
    help says the defaults. ``resolve`` fills them in for the stage asked for, or refuses an option of the other."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.defaults: dict[str, tuple[str, dict[str, Any]]] = {}
        parser.set_defaults(_stage_options=self.defaults)

    def add(self, group: Any, flag: str, defaults: dict[str, Any], help: str, **kwargs: Any) -> None:
        action = group.add_argument(flag, default=None, help=help + _said(defaults), **kwargs)
        self.defaults[action.dest] = (flag, defaults)


def _said(defaults: dict[str, Any]) -> str:
    shown = {stage: f"{value:g}" if isinstance(value, float) else str(value) for stage, value in defaults.items()
             if value is not None and not isinstance(value, bool)}
    if not shown:
        return ""
    if len(set(shown.values())) == 1 and len(shown) == len(defaults):
        return f" (default {next(iter(shown.values()))})"
    return " (default " + "; ".join(f"{value} for the {stage}" for stage, value in shown.items()) + ")"


def resolve(args: argparse.Namespace) -> None:
    """Each stage option of ``args`` set to its stage's default where not given; one given that the stage does not
    take is a VoxwatchError line."""
    from voxwatch.errors import VoxwatchError

    for dest, (flag, defaults) in args._stage_options.items():
        value = getattr(args, dest)
        if args.stage not in defaults:
            if value is not None:
                other = " or ".join(f"--stage {s}" for s in defaults)
                raise VoxwatchError(f"{flag} is an option of {other}, not of --stage {args.stage}")
        elif value is None:
            setattr(args, dest, defaults[args.stage])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from voxwatch.training.datasets import FORMATS

    parser.description = DESCRIPTION
    parser.add_argument("--stage", choices=(FILTER, VERIFIER), default=FILTER,
                        help="which model to train (default filter)")
    both = parser.add_argument_group("both stages")
    both.add_argument("--data", required=True, action="append", metavar="PATH",
                      help="dataset folder (layouts: docs/training.md); repeat to train on several sets together")
    both.add_argument("--out", required=True, metavar="DIR", action=OutputFolder,
                      help="run folder: checkpoints, history (and the verifier's ONNX model with its card)")
    both.add_argument("--format", default="auto", choices=FORMATS, help="dataset layout (default: auto)")
    both.add_argument("--seed", type=int, default=0, help="random seed for everything (default 0)")
    both.add_argument("--max-steps", type=int, default=0, help="batches per epoch cap (smoke tests)")
    both.add_argument("--balance", default="class", choices=("class", "source"),
                      help="class: both classes weigh the same; source: also the sources within a class, by the "
                           "square root of their size (the filter weighs the loss, the verifier draws the items)")
    opt = _StageOptions(parser)
    specs: list[tuple[str, dict[str, Any], type, str]] = [
        ("--epochs", {FILTER: 15, VERIFIER: 12}, int, "maximum epochs"),
        ("--patience", {FILTER: 4, VERIFIER: 4}, int, "early stop after N epochs without dev gain"),
        ("--batch-size", {FILTER: 64, VERIFIER: 32}, int, "items per batch"),
        ("--lr", {FILTER: 3e-3, VERIFIER: 3e-3}, float, "peak learning rate of the one-cycle schedule"),
        ("--weight-decay", {FILTER: 1e-3, VERIFIER: 1e-2}, float, "AdamW weight decay"),
        ("--dropout", {FILTER: 0.2, VERIFIER: 0.3}, float, "dropout before the last layer(s)"),
        ("--copies", {FILTER: 4, VERIFIER: 2}, int, "copies of each training clip: 1 clean + N-1 augmented"),
        ("--freq-mask", {FILTER: 8, VERIFIER: 16}, int, "widest masked band, coefficients"),
        ("--time-mask", {FILTER: 30, VERIFIER: 40}, int, "longest masked span, frames"),
        ("--ema", {FILTER: 0.998, VERIFIER: 0.0}, float, "decay of the weights' moving average per step, 0 = off"),
        ("--workers", {FILTER: 0, VERIFIER: 2}, int, "feature extraction processes, 0 = CPU count"),
    ]
    for flag, defaults, kind, text in specs:
        opt.add(both, flag, defaults, text, type=kind)
    both.add_argument("--channels", help="conv widths, comma-separated (default 8,16,32,64; the verifier's residual "
                      "blocks 24,48,64)")
    both.add_argument("--cache", metavar="DIR", action=OutputFolder,
                      help="cache extracted features here (default: none for the filter, OUT/cache for the verifier)")
    _add_filter_arguments(parser.add_argument_group("filter (--stage filter)"), opt)
    _add_verifier_arguments(parser.add_argument_group("verifier (--stage verifier)"), opt)


def _add_filter_arguments(group: Any, opt: _StageOptions) -> None:
    add = opt.add
    add(group, "--config", {FILTER: None}, "TOML config: its [features], [window], [vad] are used", metavar="PATH")
    add(group, "--max-windows", {FILTER: 4}, "at most N windows per clip and copy, 0 = all", type=int)
    for flag, text in [("--speed", "a 0.88-1.12x speed change"),
                       ("--codec", "a codec round trip (G.711, GSM, MP3, Vorbis, Opus)"),
                       ("--eq", "a random equaliser"), ("--rawboost", "RawBoost-style distortion"),
                       ("--telephone", "a telephone call through a real codec (ffmpeg: 300-3400 Hz, G.711, GSM, "
                                       "G.726, Codec2, Opus, Speex; some packet loss)")]:
        add(group, flag, {FILTER: 0.0}, f"probability of {text} in an augmented copy", type=float,
            metavar="P")
    add(group, "--no-augment", {FILTER: False}, "no augmentation (copies are then pointless)", action="store_true")
    add(group, "--device", {FILTER: "cpu"}, "where to train", choices=("cpu", "cuda"))
    add(group, "--freq-stride", {FILTER: 1}, "the first convolution steps N filters at a time over "
        "frequency, so N times the filters cost about the same", type=int, metavar="N")


def _add_verifier_arguments(group: Any, opt: _StageOptions) -> None:
    add = opt.add
    add(group, "--train-only", {VERIFIER: None}, "dataset whose train split (rows with use=train) is trained on, "
        "and nothing else of it (repeatable)", action="append", metavar="PATH")
    add(group, "--filter-model", {VERIFIER: None}, "the filter the gate is chosen for (default: the bundled one)",
        metavar="MODEL")
    add(group, "--bands", {VERIFIER: 128}, "linear filterbank bands", type=int)
    add(group, "--stem", {VERIFIER: 16}, "width of the strided stem convolution", type=int)
    add(group, "--pool", {VERIFIER: "meanstd"}, "pooling over time", choices=("meanstd", "meanmax"))
    add(group, "--crop", {VERIFIER: 250}, "train crop in frames", type=int)
    add(group, "--max-crop", {VERIFIER: 0}, "draw each batch's crop length from [--crop, this] frames, 0 = always "
        "--crop", type=int)
    add(group, "--epoch-items", {VERIFIER: 0}, "train items drawn per epoch, 0 = all", type=int)
    add(group, "--real-weight", {VERIFIER: 1.0}, "loss weight of real speech against fake", type=float)
    add(group, "--splice-share", {VERIFIER: 0.0}, "share of train items whose crop keeps only a part of itself "
        "inside real speech of another clip (fakes spliced into real speech; 0 = none)", type=float)
    add(group, "--threads", {VERIFIER: 1}, "torch threads", type=int)
    add(group, "--budget", {VERIFIER: 2.0}, "the card threshold keeps the cascade within this many false alarms "
        "per hour of the dev real speech", type=float)
    add(group, "--gate-pass", {VERIFIER: 0.98}, "share of fake dev clips the gate must pass", type=float)
    add(group, "--no-fusion", {VERIFIER: False}, "decide with the network's score alone (default: fused with the "
        "filter's, fitted on dev)", action="store_true")


def _channels(text: str) -> tuple[int, ...]:
    from voxwatch.errors import VoxwatchError

    try:
        channels = tuple(int(c) for c in text.split(","))
    except ValueError:
        raise VoxwatchError(f"--channels: expected comma-separated integers, not {text!r}") from None
    if len(channels) < 2 or min(channels) < 1:
        raise VoxwatchError(f"--channels: expected at least two positive widths, not {text!r}")
    return channels


def run(args: argparse.Namespace, recipe: Any = None) -> int:
    """``recipe``: the filter trainer's (``training.train.Recipe``), given by the lab's recipe variants."""
    from voxwatch.commands.common import require_torch
    from voxwatch.errors import VoxwatchError

    resolve(args)
    if args.epochs < 1 or args.copies < 1 or args.batch_size < 1:
        raise VoxwatchError("--epochs, --copies and --batch-size must be >= 1")
    require_torch()
    return _run_filter(args, recipe) if args.stage == FILTER else _run_verifier(args)


def _run_filter(args: argparse.Namespace, recipe: Any = None) -> int:
    from pathlib import Path

    from voxwatch.config import load_config
    from voxwatch.errors import VoxwatchError
    from voxwatch.training.augment import AugmentSettings
    from voxwatch.training.datasets import load_datasets
    from voxwatch.training.featureset import ExtractSettings
    from voxwatch.training.train import TrainSettings, train

    if args.max_windows < 0:
        raise VoxwatchError("--max-windows must be >= 0")
    if args.telephone and not args.no_augment:
        from voxwatch.training.telephone import ffmpeg_path

        ffmpeg_path()  # one error line now rather than a traceback from a feature worker later
    config = load_config(args.config).pipeline
    clips = load_datasets(args.data, args.format)
    extract_settings = ExtractSettings(
        features=config.features, window=config.window, vad=config.vad,
        augment=None if args.no_augment else AugmentSettings(p_speed=args.speed, p_codec=args.codec, p_eq=args.eq,
                                                             p_rawboost=args.rawboost, p_telephone=args.telephone),
        copies=1 if args.no_augment else args.copies,
        max_windows=args.max_windows, seed=args.seed,
    )
    channels = _channels(args.channels or "8,16,32,64")
    if args.freq_stride < 1:
        raise VoxwatchError("--freq-stride must be >= 1")
    settings = TrainSettings(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, patience=args.patience,
                             seed=args.seed, max_steps=args.max_steps, device=args.device, channels=channels,
                             freq_stride=args.freq_stride, ema=args.ema, dropout=args.dropout,
                             weight_decay=args.weight_decay, freq_mask=args.freq_mask, time_mask=args.time_mask,
                             balance=args.balance)
    result = train(clips, Path(args.out), extract_settings, settings, data_desc=" + ".join(args.data),
                   cache_dir=Path(args.cache) if args.cache else None, workers=args.workers or None,
                   recipe=recipe)
    dev = result["dev"]
    print(f"best epoch {result['best_epoch']}: dev EER {100 * dev['eer']:.2f}% (AUC {dev['auc']:.4f}); "
          f"checkpoint {result['checkpoint']}")
    return 0


def _run_verifier(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from voxwatch.errors import VoxwatchError
    from voxwatch.pipeline.stages.cards import open_model
    from voxwatch.pipeline.stages.filter.card import ModelCard
    from voxwatch.pipeline.stages.filter.features import FeatureSettings
    from voxwatch.pipeline.stages.verifier.features import VerifierFeatureSettings
    from voxwatch.training.featureset import default_workers
    from voxwatch.training.verifier.export import card_summary
    from voxwatch.training.verifier.model import VerifierNet
    from voxwatch.training.verifier.operating import OperatingChoice
    from voxwatch.training.verifier.train import VerifierTrainSettings, train_and_export

    if min(args.bands, args.stem, args.crop, args.threads) < 1 or args.max_crop < 0:
        raise VoxwatchError("--bands, --stem, --crop and --threads must be >= 1, --max-crop >= 0")
    if not 0.0 < args.gate_pass <= 1.0 or args.budget <= 0 or args.real_weight <= 0:
        raise VoxwatchError("--gate-pass must be within (0, 1], --budget and --real-weight > 0")
    if not 0.0 <= args.splice_share <= 1.0:
        raise VoxwatchError("--splice-share must be within [0, 1]")
    if args.filter_model:  # checked now, not after the training: the operating point is chosen against it
        open_model(args.filter_model, ModelCard.load)
    out = Path(args.out)
    features = VerifierFeatureSettings(spectrum=FeatureSettings(kind="linfbank", nfilt=args.bands, normalize="cmn"))
    settings = VerifierTrainSettings(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
        crop_frames=args.crop, max_crop_frames=args.max_crop, freq_mask=args.freq_mask, time_mask=args.time_mask,
        patience=args.patience, epoch_items=args.epoch_items, real_weight=args.real_weight, balance=args.balance,
        ema=args.ema, splice_share=args.splice_share, seed=args.seed, threads=args.threads,
        max_steps=args.max_steps)
    net = VerifierNet(n_bands=features.n_features, stem=args.stem, channels=_channels(args.channels or "24,48,64"),
                      dropout=args.dropout, pool=args.pool)
    choice = OperatingChoice(args.filter_model, args.gate_pass, args.budget, not args.no_fusion)
    card = train_and_export(args.data, out, features, net, settings, choice, copies=args.copies,
                            train_only=args.train_only or (), fmt=args.format,
                            cache=Path(args.cache) if args.cache else out / "cache",
                            workers=args.workers or default_workers())
    print(json.dumps(card_summary(card), indent=2))
    return 0
