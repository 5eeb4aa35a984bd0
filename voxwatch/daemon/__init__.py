"""Process-level pieces around the pipeline: event schema, ZeroMQ publishing and subscribing, commands."""
