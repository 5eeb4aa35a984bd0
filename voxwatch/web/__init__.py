"""``voxwatch web``: the browser pages (Analyze, Live, Evidence) and the HTTP API beside them.

The top layer, like ``voxwatch.commands``: it uses the detector, the transport's subscriber, the monitor's state
model and the evidence store, and nothing below imports it (``tests/test_layering.py``), so the daemon never loads
FastAPI. Needs the ``web`` extra (``pip install 'voxwatch[web]'``).

* ``settings``     the server's settings (bind address, token, upload limits), and the bind rule
* ``security``     token check (constant time), body size limit, response headers
* ``scoring``      an upload scored with ``Detector``: ``score --json``'s record plus the window scores
* ``spectrogram``  a small log spectrogram as JSON for the pages' canvas
* ``live``         the ZeroMQ subscriber thread and the Server-Sent Events fan-out
* ``pages``        the three pages and the login form
* ``score_routes``, ``live_routes``, ``evidence_routes``   the ``/api/*`` routers, one job each
* ``responses``    the one shape of an API error
* ``app``          the FastAPI application: the routers, ``static/``, the middlewares
* ``server``       uvicorn on a socket bound first (``--port 0`` prints the port it got)
"""
