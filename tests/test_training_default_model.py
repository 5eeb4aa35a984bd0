"""The model shipped in the package: it loads where torch is not installed, fits the default pipeline, and
``voxwatch score`` uses it with no flags."""

import json
import subprocess
import sys

import numpy as np
from helpers import speech_like, write_wav

from voxwatch.models import DEFAULT_MODEL, default_model_path
from voxwatch.pipeline.stages.cards import file_sha256
from voxwatch.pipeline.stages.filter.card import ModelCard
from voxwatch.pipeline.stages.filter.features import FeatureSettings

NO_TORCH = "import sys; sys.modules['torch'] = None; "


def test_default_model_is_bundled_small_and_matches_default_features():
    assert default_model_path() == DEFAULT_MODEL
    card = ModelCard.load(DEFAULT_MODEL.with_suffix(".json"))
    assert card.feature_hash == FeatureSettings().digest()
    assert card.features == FeatureSettings()
    assert card.onnx_sha256 == file_sha256(DEFAULT_MODEL)
    assert DEFAULT_MODEL.stat().st_size < 700_000
    assert 0.0 < card.threshold < 1.0
    assert card.metrics["dev"]["eer"] < 0.2
    assert card.metrics["parity_max_abs_diff"] <= 1e-4


def test_int8_variant_fits_the_default_pipeline_too():
    int8 = DEFAULT_MODEL.with_name("default-int8.onnx")
    card = ModelCard.load(int8.with_suffix(".json"))
    assert card.features == FeatureSettings() and card.onnx_sha256 == file_sha256(int8)
    assert card.metrics["int8"]["mean_abs_score_change"] < 0.05
    assert int8.stat().st_size < DEFAULT_MODEL.stat().st_size


def test_default_model_loads_and_scores_without_torch(tmp_path):
    code = NO_TORCH + (
        "import json, numpy as np\n"
        "from voxwatch.models import DEFAULT_MODEL\n"
        "from voxwatch.pipeline.stages.filter.session import OnnxClassifier\n"
        "from voxwatch.pipeline.stages.filter.features import FeatureSettings\n"
        "clf = OnnxClassifier(DEFAULT_MODEL, FeatureSettings(), 2.0)\n"
        "shape = (4, clf.card.n_frames, clf.card.features.n_features)\n"
        "s = clf.score(np.random.default_rng(0).standard_normal(shape).astype(np.float32))\n"
        "assert 'torch' not in sys.modules or sys.modules['torch'] is None\n"
        "print(json.dumps({'hash': clf.card.feature_hash, 'scores': s.tolist()}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["hash"] == FeatureSettings().digest()
    assert len(out["scores"]) == 4 and all(0.0 <= s <= 1.0 for s in out["scores"])

    wav = write_wav(tmp_path / "speech.wav", np.concatenate([np.zeros(8000, np.float32), speech_like(4.0)]))
    score = NO_TORCH + f"from voxwatch.cli import main; raise SystemExit(main(['score', {str(wav)!r}, '--json']))"
    proc = subprocess.run([sys.executable, "-c", score], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout.splitlines()[0])
    assert record["verdict"] in ("fake", "real")
    assert record["model"] == ModelCard.load(DEFAULT_MODEL.with_suffix(".json")).model_id
