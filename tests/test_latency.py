"""One p50/p99 rule for the heartbeat's latency figures (voxwatch.pipeline.stats)."""

import random

from voxwatch.pipeline.stats import p50_p99


def test_nearest_rank_on_the_sorted_values_rounded_to_microseconds():
    assert p50_p99([]) == (None, None)
    assert p50_p99([2.0]) == (2.0, 2.0)
    values = [float(v) for v in range(1, 201)]  # 1..200 ms
    random.Random(0).shuffle(values)
    assert p50_p99(values) == (101.0, 199.0)
    assert p50_p99([0.1234567, 0.2]) == (0.2, 0.2) and p50_p99([1.0001234], ndigits=3) == (1.0, 1.0)


def test_it_is_the_rule_the_heartbeat_has_always_used():
    rng = random.Random(1)
    for n in (1, 2, 7, 99, 100, 101, 1000):
        lat = sorted(rng.uniform(0, 50) for _ in range(n))
        old = (round(lat[len(lat) // 2], 3), round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 3))
        assert p50_p99(reversed(lat)) == old
