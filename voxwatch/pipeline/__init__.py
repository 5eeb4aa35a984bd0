"""The streaming detection pipeline: source -> ring buffer -> VAD -> windows -> features -> classifier -> decision.

Each stage lives in its own module and works on plain numpy arrays, so it can be tested on its own.
``Pipeline`` (voxwatch.pipeline.runner) joins them with bounded queues for many streams at once.
"""
