"""The one progress + process-pool loop of training: results in the items' order, in this process or in a pool."""

import pytest

from voxwatch.training.pool import counting, map_with_progress


def _square(x: int) -> int:
    return x * x


@pytest.mark.parametrize("workers", [1, 2])
def test_results_come_back_in_the_items_order(workers, capsys):
    assert map_with_progress(_square, list(range(20)), "squares", workers=workers, chunksize=3) == [
        x * x for x in range(20)]
    assert map_with_progress(_square, [], "nothing", workers=workers) == []
    assert capsys.readouterr().out == ""  # the bar is on stderr: stdout stays for results


def test_a_counted_loop_that_raises_ends_its_bar_and_passes_the_error_on():
    seen = []
    with pytest.raises(ValueError, match="third"), counting("items", 5) as advance:
        for i in range(5):
            if i == 2:
                raise ValueError("third")
            seen.append(i)
            advance()
    assert seen == [0, 1]
