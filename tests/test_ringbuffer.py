import threading

import numpy as np
import pytest

from voxwatch.pipeline.ringbuffer import RingBuffer


def test_write_read_keeps_order_and_absolute_index():
    ring = RingBuffer(10)
    ring.write(np.arange(4))
    ring.write(np.arange(4, 7))
    start, data = ring.read()
    assert start == 0 and data.tolist() == [0, 1, 2, 3, 4, 5, 6]
    ring.write(np.arange(7, 12))  # wraps around the end of the array
    start, data = ring.read(3)
    assert start == 7 and data.tolist() == [7, 8, 9]
    assert ring.available() == 2 and ring.dropped == 0


def test_overflow_drops_oldest_and_counts():
    ring = RingBuffer(8)
    assert ring.write(np.arange(6)) == 0
    assert ring.write(np.arange(6, 11)) == 3  # 11 unread samples, room for 8
    assert ring.dropped == 3
    start, data = ring.read()
    assert start == 3 and data.tolist() == list(range(3, 11))


def test_write_larger_than_capacity_keeps_newest():
    ring = RingBuffer(4)
    lost = ring.write(np.arange(10))
    assert lost == 6 and ring.dropped == 6
    start, data = ring.read()
    assert start == 6 and data.tolist() == [6, 7, 8, 9]
    assert ring.written == 10


def test_peek_reads_history_without_consuming():
    ring = RingBuffer(8)
    ring.write(np.arange(12))
    ring.read()
    assert ring.peek(5, 9).tolist() == [5, 6, 7, 8]
    with pytest.raises(IndexError):
        ring.peek(2, 6)  # overwritten
    with pytest.raises(IndexError):
        ring.peek(10, 13)  # not written yet


def test_restart_at_moves_forward_only():
    ring = RingBuffer(4)
    ring.write(np.arange(3))
    ring.restart_at(100)
    ring.write(np.array([1, 2]))
    assert ring.read() [0] == 100
    with pytest.raises(ValueError):
        ring.restart_at(50)


def test_concurrent_writer_never_loses_accounting():
    ring = RingBuffer(1000)
    total = 200 * 64
    got = []

    def writer():
        for i in range(200):
            ring.write(np.full(64, i, dtype=np.float32))

    thread = threading.Thread(target=writer)
    thread.start()
    while thread.is_alive() or ring.available():
        got.append(len(ring.read()[1]))
    thread.join()
    assert sum(got) + ring.dropped == total
