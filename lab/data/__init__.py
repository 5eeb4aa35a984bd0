"""The data builder: the catalogue of public sources, their checkouts, one adapter per source, the built set and
its views for evaluation (lab/notes/data.md)."""
