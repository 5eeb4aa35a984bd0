"""Events on the wire: the message schema, the ZeroMQ publisher and subscriber, the broker and CURVE security."""
