"""The daemon proper: the service behind ``voxwatch run`` (wiring, signals, reload), evidence clips, Prometheus."""
