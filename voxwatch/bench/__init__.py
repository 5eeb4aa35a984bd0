"""The benchmark behind ``voxwatch bench``: synthetic workload, measured runs, and the report."""
