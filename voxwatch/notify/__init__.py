"""Alert delivery: events from the ZeroMQ stream passed on to where people look (``voxwatch notify``).

It sits beside ``monitor/``, above ``transport/``: it is only a subscriber, so a slow or dead receiver can never
slow a daemon. Each receiver (a ``Sink``: webhook, exec, desktop) gets its own ``Delivery`` worker with a bounded
queue and retries, so one hanging receiver does not hold up the others.
"""
