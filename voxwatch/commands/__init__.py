"""The ``voxwatch`` sub-commands: one module each (``HELP``, ``add_arguments``, ``run``), plus their shared glue."""
