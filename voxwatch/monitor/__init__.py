"""The terminal monitor: ``state`` folds events into per-daemon, per-stream state; ``view`` renders it with Rich."""
