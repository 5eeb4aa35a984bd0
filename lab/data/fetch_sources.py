"""Make the checkouts the data builder reads: one folder per catalogue entry under ``--checkouts DIR``.

Repositories come from ``git clone`` (shallow, sparse: only the catalogue's audio paths, since demo pages
carry large unrelated files) or, with ``--mirror DIR``, from local bare snapshots ``DIR/<owner+name>/repo``
(``git archive``). Debian packages come from ``apt-get download`` and ``dpkg-deb -x``. Each checkout records
the commit or package version it holds in ``.source-version``, which the builder writes on every row.

    python -m lab.data.fetch_sources --checkouts ../checkouts [--mirror DIR] [--only SLUG ...]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from lab.data.data_sources import SOURCES, TOOLS, VERSION_FILE, DataSource


class FetchError(RuntimeError):
    """A checkout could not be made (network, missing ref, missing tool)."""


def _run(*command: str, cwd: Path | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        raise FetchError(f"{' '.join(command)}: {done.stderr.strip().splitlines()[-1:] or done.returncode}")
    return done.stdout.strip()


def from_mirror(source: DataSource, mirror: Path, into: Path) -> str:
    """Extract the catalogue paths of ``source.ref`` from a bare snapshot; returns the commit.

    Snapshots may lack their largest files (archives, not audio): only the files the snapshot holds are taken.
    """
    git_dir = mirror / source.slug / "repo"
    if (git_dir / ".git").is_dir():
        git_dir = git_dir / ".git"
    git = ("git", f"--git-dir={git_dir}")
    commit = _run(*git, "rev-parse", f"{source.ref}^{{commit}}")
    listing = _run(*git, "ls-tree", "-r", "-z", commit, "--", *source.paths)  # -z: names as they are, not quoted
    entries = [line.split("\t", 1) for line in listing.split("\0") if line]
    ids = "\n".join(meta.split()[2] for meta, _ in entries) + "\n"
    check = subprocess.run([*git, "cat-file", "--batch-check"], input=ids, capture_output=True, text=True).stdout
    lines = check.splitlines()
    present = [path for (_, path), line in zip(entries, lines, strict=True) if not line.endswith(" missing")]
    if not present:
        raise FetchError(f"{source.repo} {source.ref}: none of {', '.join(source.paths)} in the snapshot")
    archive = subprocess.Popen([*git, "archive", commit, "--", *present], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(into)], stdin=archive.stdout, check=True)
    if archive.wait():
        raise FetchError(f"git archive {source.repo} {source.ref} failed")
    return commit


def from_github(source: DataSource, into: Path) -> str:
    """Shallow sparse clone of ``source.ref`` holding only the catalogue paths; returns the commit."""
    url = f"https://github.com/{source.repo}.git"
    _run("git", "clone", "--depth", "1", "--branch", source.ref, "--filter=blob:none", "--no-checkout", url,
         str(into))
    _run("git", "sparse-checkout", "set", "--no-cone", *source.paths, cwd=into)
    _run("git", "checkout", cwd=into)
    commit = _run("git", "rev-parse", "HEAD", cwd=into)
    shutil.rmtree(into / ".git")
    return commit


def from_debian(source: DataSource, into: Path) -> str:
    """``apt-get download`` the package and unpack it; returns its version."""
    package = source.repo.removeprefix("debian:")
    with tempfile.TemporaryDirectory() as tmp:
        _run("apt-get", "download", package, cwd=Path(tmp))
        deb = next(Path(tmp).glob(f"{package}_*.deb"))
        _run("dpkg-deb", "-x", str(deb), str(into))
        return _run("dpkg-deb", "-f", str(deb), "Version")


def fetch(source: DataSource, checkouts: Path, mirror: Path | None = None) -> str:
    """Make ``checkouts/<slug>`` afresh; returns the version it holds."""
    into = checkouts / source.slug
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    if source.is_debian:
        version = from_debian(source, into)
    elif mirror is not None:
        version = from_mirror(source, mirror, into)
    else:
        shutil.rmtree(into)
        version = from_github(source, into)
    (into / VERSION_FILE).write_text(version + "\n")
    return version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog=__doc__.splitlines()[-1].strip(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkouts", type=Path, required=True, help="folder to make the checkouts in")
    parser.add_argument("--mirror", type=Path, help="folder of bare snapshots <owner+name>/repo instead of GitHub")
    parser.add_argument("--only", nargs="+", metavar="SLUG", help="only these catalogue entries (owner+name)")
    args = parser.parse_args(argv)
    known = {s.slug for s in (*SOURCES, *TOOLS)}
    unknown = sorted(set(args.only or ()) - known)
    if unknown:
        print(f"voxwatch: error: unknown source(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})",
              file=sys.stderr)
        return 2
    failed = 0
    for source in (*SOURCES, *TOOLS):
        if args.only and source.slug not in args.only:
            continue
        try:
            version = fetch(source, args.checkouts, args.mirror)
        except (FetchError, OSError, subprocess.CalledProcessError, StopIteration) as exc:
            print(f"{source.slug}: not fetched: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"{source.slug}: {version}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
