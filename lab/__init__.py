"""Lab scripts: one-off exports and measurements behind the shipped models (``python -m lab.NAME``); not part of
the installed package. Their findings are written up in ``lab/notes/``."""
