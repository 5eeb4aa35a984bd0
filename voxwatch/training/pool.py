"""The one "progress bar over a list of work" of training: in a process pool or in this process.

``map_with_progress`` runs ``work`` on every item (in ``workers`` processes when more than one: ``work`` and the
items must then pickle) and returns the results in the items' order; ``counting`` counts a loop this process runs
itself. The bar goes to stderr, so that stdout stays for a command's results.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def progress_bar(transient: bool = False):
    """A Rich progress bar on stderr: bold label, bar, done/total, time remaining."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=transient)


@contextmanager
def counting(label: str, total: int | None, transient: bool = False) -> Iterator[Callable[[], None]]:
    """A bar for a loop this process runs itself: ``with counting(label, n) as advance:``, ``advance()`` once an
    item is handled. The bar ends with the block, also when the block raises (``transient``: it then vanishes)."""
    with progress_bar(transient) as progress:
        task = progress.add_task(label, total=total)
        yield lambda: progress.advance(task)


def map_with_progress(work: Callable[[T], R], items: Sequence[T], label: str, workers: int = 1,
                      chunksize: int = 8) -> list[R]:
    """``[work(item) for item in items]`` with a progress bar, in ``workers`` processes when more than one."""
    results: list[R] = []
    with counting(label, len(items)) as advance:
        if workers <= 1 or len(items) < 2:
            for item in items:
                results.append(work(item))
                advance()
        else:
            with ProcessPoolExecutor(workers) as pool:
                for result in pool.map(work, items, chunksize=chunksize):
                    results.append(result)
                    advance()
    return results
