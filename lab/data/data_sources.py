"""The catalogue of the data builder: every public source it reads, where to get it, and whether it may train.

One entry per checkout. ``use`` decides everything downstream: ``train`` sources may train (their licence
allows it), ``eval-only`` ones (no licence, research-only or non-commercial terms) only ever reach dev and test.
The builder splits by these entries alone, so adding a source is adding a line here and an adapter module
``lab/data/adapters/<adapter>.py`` with ``clips(root, version)``.

A checkout lives under ``--checkouts DIR`` as ``DIR/<slug>`` (``OWNER+NAME`` for a repository, ``debian+PACKAGE``
for a Debian package); ``fetch_sources`` makes it, and writes the commit or package version it holds into
``DIR/<slug>/.source-version``.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.data.source_clip import Use

VERSION_FILE = ".source-version"


@dataclass(frozen=True)
class DataSource:
    """One checkout: a GitHub repository at a ref (only ``paths`` are extracted) or a Debian package."""

    repo: str  # "owner/name" on GitHub, or "debian:PACKAGE"
    ref: str  # branch or tag for a repository; "" for a Debian package (the archive's current version)
    paths: tuple[str, ...]  # the audio folders to extract (a repository); () for a package (all of it)
    license: str  # short name as the source states it, recorded on every row
    use: Use
    adapter: str  # module name under lab.data.adapters ("" for a tool)
    # Train sources: bands of the speaker hash (build_data.unit) whose speakers go to dev and to test. Bands only
    # ever shrink between builds, so a model trained on an earlier build has never heard a dev or test speaker.
    dev_speakers: tuple[float, float] = (0.0, 0.0)
    test_speakers: tuple[float, float] = (0.0, 0.0)

    @property
    def slug(self) -> str:
        """The checkout's folder name and the builder's output folder: ``owner+name`` or ``debian+package``."""
        return self.repo.replace(":", "+").replace("/", "+")

    @property
    def is_debian(self) -> bool:
        return self.repo.startswith("debian:")


SOURCES: tuple[DataSource, ...] = (
    # --- may train -------------------------------------------------------------------------------------------
    DataSource("jimbozhang/speechocean762", "main", ("WAVE",),
               "free for commercial and non-commercial use (speechocean762 README)", "train",
               "jimbozhang_speechocean762", dev_speakers=(0.0, 0.04), test_speakers=(0.10, 0.15)),
    DataSource("debian:fillets-ng-data-cs", "", (), "GPL-2+ (Debian fillets-ng-data-cs)", "train", "fillets_ng_data"),
    DataSource("debian:fillets-ng-data-nl", "", (), "GPL-2+ (Debian fillets-ng-data-nl)", "train", "fillets_ng_data"),
    DataSource("MycroftAI/Precise-Community-Data", "master",
               ("amelia", "athena", "computer", "heychatterbox", "heycomputer", "not-wake-words"),
               "public-domain waiver (Precise-Community-Data licenses/)", "train",
               "mycroftai_precise_community_data"),
    DataSource("gemelo-ai/vocos", "gh-pages", ("audio",), "MIT", "train", "gemelo_ai_vocos"),
    DataSource("kan-bayashi/ParallelWaveGAN", "gh-pages", ("wav",), "MIT", "train", "kan_bayashi_parallelwavegan"),
    DataSource("melgan-neurips/melgan-neurips.github.io", "master",
               ("assets/ablation", "assets/inversion", "assets/tts_samples"), "MIT", "train",
               "melgan_neurips_github_io"),
    # --- evaluation only: no licence, research-only or non-commercial terms (never train, never select) ------
    DataSource("klchang/SpeakerRecognition", "master", ("audio_data",),
               "none stated (README asks for a citation of Reda et al., NSDR 2011)", "eval-only",
               "klchang_speakerrecognition"),
    DataSource("siddiquelatif/URDU-Dataset", "master", ("Angry", "Happy", "Neutral", "Sad"),
               "none stated (README: 'Anyone can use this data only for research purposes.')", "eval-only",
               "siddiquelatif_urdu_dataset"),
    DataSource("Edresson/YourTTS", "gh-pages", ("audios_demo",), "CC BY-NC-ND 4.0 (LICENSE of branch main)",
               "eval-only", "edresson_yourtts"),
    DataSource("sh-lee-prml/HierSpeechpp-demo", "main", ("audio",), "none stated", "eval-only",
               "sh_lee_prml_hierspeechpp_demo"),
    DataSource("styletts2/styletts2.github.io", "main", ("wavs",), "none stated", "eval-only", "styletts2_github_io"),
    DataSource("bigvgan-demo/bigvgan-demo.github.io", "master", ("samples",), "none stated", "eval-only",
               "bigvgan_demo_github_io"),
    DataSource("lvc-vc/lvc-vc-demo", "gh-pages", ("audio",), "none stated", "eval-only", "lvc_vc_demo"),
    DataSource("aijianiula0601/FlowCPCVC", "gh-pages", ("any2any", "any2many"), "none stated", "eval-only",
               "aijianiula0601_flowcpcvc"),
    DataSource("starganv2-vc/starganv2-vc.github.io", "main", ("wav",), "none stated", "eval-only",
               "starganv2_vc_github_io"),
    DataSource("OlaWod/FreeVC-demo", "main", ("data",), "none stated", "eval-only", "olawod_freevc_demo"),
    DataSource("jaywalnut310/vits-demo", "main", ("index.html", "wavs"), "none stated", "eval-only",
               "jaywalnut310_vits_demo"),
    DataSource("jaywalnut310/glow-tts-demo", "master", ("index.html", "wavs"), "none stated", "eval-only",
               "jaywalnut310_glow_tts_demo"),
    DataSource("wavegrad/wavegrad.github.io", "master", ("wavs", "wavs2", "v2/wavs", "baselines", "specgrad/data"),
               "none stated", "eval-only", "wavegrad_github_io"),
    DataSource("diffwave-demo/diffwave-demo.github.io", "master", ("samples",), "none stated", "eval-only",
               "diffwave_demo_github_io"),
)


# Checkouts that generators run rather than read clips from (fetched alike, never built as a source).
TOOLS: tuple[DataSource, ...] = (
    DataSource("google/lyra", "main", ("lyra/model_coeffs",), "Apache-2.0", "train", ""),  # lyra_twins
)


def by_slug() -> dict[str, DataSource]:
    return {source.slug: source for source in SOURCES}
