"""One member of an exported ensemble as a model of its own (onnxruntime and onnx only, no torch).

``python -m lab.member ENSEMBLE.onnx --member K --data PATH --out model.onnx [--int8]`` (until issue 35 it was
``voxwatch export ENSEMBLE.onnx --member K``). ``voxwatch export`` turns several checkpoints into one graph whose
output is the mean of the members' probabilities. A member alone costs a fraction of the ensemble's inference; this
cuts it out of the graph (its weights untouched), checks that it scores exactly like the member inside the ensemble,
re-calibrates the card's threshold on the dev split (the dev EER point of the member itself, clip scores aggregated
like the daemon does) and writes its card, the member's recipe and data summary carried over from the ensemble's
card. An earlier default model was made this way from a 3-member ensemble (lab/notes/experiments.md, Earlier
rounds).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from voxwatch.errors import ModelError, VoxwatchError
from voxwatch.pipeline.stages.cards import card_path, file_sha256
from voxwatch.pipeline.stages.filter.card import ModelCard
from voxwatch.pipeline.vad import VadSettings
from voxwatch.pipeline.windower import WindowSettings
from voxwatch.training.datasets import FORMATS, load_dataset, select
from voxwatch.training.export import OUTPUT_NAME, ExportResult, finish_model, ort_scores
from voxwatch.training.featureset import ExtractSettings, extract


def member_outputs(graph: Any) -> list[str]:
    """Names of the member probability tensors of an ensemble graph (ReduceMean(Concat(Unsqueeze(p_k))))."""
    producers = {out: node for node in graph.node for out in node.output}
    mean = producers.get(OUTPUT_NAME)
    concat = producers.get(mean.input[0]) if mean is not None and mean.op_type == "ReduceMean" else None
    if concat is None or concat.op_type != "Concat":
        raise ModelError("not an ensemble exported by 'voxwatch export' (no mean over member outputs)")
    names = []
    for name in concat.input:
        unsqueeze = producers.get(name)
        if unsqueeze is None or unsqueeze.op_type != "Unsqueeze":
            raise ModelError("not an ensemble exported by 'voxwatch export' (unexpected member output)")
        names.append(unsqueeze.input[0])
    return names


def _cut(model: Any, tensor: str) -> Any:
    """A copy of ``model`` whose only output is ``tensor`` (renamed to the contract's output name), pruned."""
    import onnx

    cut = onnx.ModelProto()
    cut.CopyFrom(model)
    graph = cut.graph
    for node in graph.node:
        node.output[:] = [OUTPUT_NAME if o == tensor else ("" if o == OUTPUT_NAME else o) for o in node.output]
        node.input[:] = [OUTPUT_NAME if i == tensor else i for i in node.input]
    needed, keep = {OUTPUT_NAME}, []
    for node in reversed(list(graph.node)):
        if any(o in needed for o in node.output if o):
            keep.append(node)
            needed.update(i for i in node.input if i)
    graph.ClearField("node")
    graph.node.extend(reversed(keep))
    initializers = [init for init in graph.initializer if init.name in needed]
    graph.ClearField("initializer")
    graph.initializer.extend(initializers)
    value_info = [v for v in graph.value_info if v.name in needed and v.name != OUTPUT_NAME]
    graph.ClearField("value_info")
    graph.value_info.extend(value_info)
    onnx.checker.check_model(cut)
    return cut


def _with_output(model: Any, tensor: str) -> Any:
    """A copy of the ensemble that also outputs ``tensor`` (to compare the cut member with it)."""
    import onnx

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.append(onnx.helper.make_tensor_value_info(tensor, onnx.TensorProto.FLOAT, None))
    return probe


def extract_member(ensemble: Path | str, member: int, out: Path | str, data: Path | str, fmt: str = "auto",
                   int8: bool = False, tolerance: float = 1e-6, workers: int | None = None,
                   model_id: str = "") -> ExportResult:
    """Write member ``member`` (0-based) of ``ensemble`` to ``out`` (+ card), threshold calibrated on dev."""
    try:
        import onnx
    except ImportError:
        raise ModelError("needs the onnx package: pip install -e '.[train]'") from None

    ensemble, out = Path(ensemble), Path(out)
    if not ensemble.is_file():
        raise ModelError(f"{ensemble}: model file not found")
    card = ModelCard.load(card_path(ensemble))
    members = card.training.get("members") or []
    model = onnx.load(str(ensemble))
    names = member_outputs(model.graph)
    if not 0 <= member < len(names):
        raise ModelError(f"{ensemble}: --member must be 0..{len(names) - 1} (the ensemble has {len(names)} members)")
    recipe: dict[str, Any] = members[member] if len(members) == len(names) else {}

    extract_info = recipe.get("extract") or {}
    settings = ExtractSettings(card.features, WindowSettings(**extract_info.get("window", {})),
                               VadSettings(**extract_info.get("vad", {})))
    if abs(settings.window.window_s - card.window_s) > 1e-9:
        raise ModelError(f"{ensemble}: the member's recipe windows differ from the card's window_s")
    dev_clips = select(load_dataset(data, fmt), "dev")
    if len({c.label for c in dev_clips}) < 2:
        raise ModelError(f"{data}: the dev split needs clips of both classes to calibrate a threshold")
    dev = extract(dev_clips, settings, workers, "dev features")
    labels = np.array([c.label for c in dev_clips], np.int8)

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        float_path, probe_path = Path(tmp) / "member.onnx", Path(tmp) / "probe.onnx"
        onnx.save(_cut(model, names[member]), str(float_path))
        onnx.save(_with_output(model, names[member]), str(probe_path))
        scores = ort_scores(float_path, dev.x)
        inside = ort_scores(probe_path, dev.x, output=names[member])
        diff = float(np.max(np.abs(scores - inside))) if len(scores) else 0.0
        print(f"parity: max |member alone - member inside the ensemble| = {diff:.2e} over {len(dev)} dev windows")
        if not diff <= tolerance:
            raise ModelError(f"parity check failed: max abs diff {diff:.3g} > tolerance {tolerance:.3g}")
        final_dev, int8_info = finish_model(float_path, out, scores, dev, labels, int8)

    sha = file_sha256(out)
    arch = str((recipe.get("model") or {}).get("arch", "tinycnn"))
    model_id = model_id or f"{arch}-{card.features.kind}{'-int8' if int8 else ''}-{sha[:8]}"
    training = {k: v for k, v in card.training.items() if k != "members"}
    training.update({k: v for k, v in recipe.items() if k != "dev"})
    training["extracted_from"] = {"model_id": card.model_id, "onnx_sha256": card.onnx_sha256, "member": member}
    metrics: dict[str, Any] = {"dev": final_dev, "parity_max_abs_diff": diff}
    if recipe.get("dev"):
        metrics["dev_at_training"] = recipe["dev"]
    if int8_info:
        metrics["int8"] = int8_info
    result_card = ModelCard(model_id=model_id, features=card.features, window_s=card.window_s,
                            n_frames=card.n_frames, threshold=float(final_dev["threshold"]), onnx_sha256=sha,
                            training=json.loads(json.dumps(training)), metrics=metrics)
    result_card.save(out.with_suffix(".json"))
    return ExportResult(out, result_card)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.member", description=__doc__.splitlines()[0])
    parser.add_argument("ensemble", metavar="ENSEMBLE.onnx", help="an ensemble written by 'voxwatch export A.pt B.pt'")
    parser.add_argument("--member", type=int, required=True, metavar="K", help="the member to cut out (0-based)")
    parser.add_argument("--data", required=True, metavar="PATH",
                        help="the dataset whose dev split calibrates the threshold (the ensemble's training set)")
    parser.add_argument("--format", default="auto", choices=FORMATS, help="dataset layout")
    parser.add_argument("--out", required=True, metavar="PATH", help="the .onnx to write (card: same name, .json)")
    parser.add_argument("--int8", action="store_true", help="INT8 static quantisation, calibrated on dev windows")
    parser.add_argument("--tolerance", type=float, default=1e-6,
                        help="largest allowed difference from the member inside the ensemble (default 1e-6)")
    parser.add_argument("--model-id", default="", help="model id in the card (default: ARCH-KIND-SHA8)")
    args = parser.parse_args(argv)
    try:
        result = extract_member(args.ensemble, args.member, args.out, args.data, args.format, int8=args.int8,
                                tolerance=args.tolerance, model_id=args.model_id)
    except VoxwatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    dev = result.card.metrics["dev"]
    print(f"wrote {result.path} ({result.path.stat().st_size // 1024} KiB) + {result.path.with_suffix('.json').name}: "
          f"id {result.card.model_id}, threshold {result.card.threshold:.4f}, dev EER {100 * dev['eer']:.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
