"""Clone watch: enrolled voices (voiceprints) and the check of speech against them.

* ``voiceprint``: the voiceprint file (embeddings, the encoder's id and hash, per-voice statistics) and the voices
  directory, written atomically;
* ``enrol``: a voiceprint from a person's recordings, refusing what a user typically gets wrong;
* ``check``: an utterance's embedding against the voiceprints: the nearest (or expected) voice, its similarity,
  a clone score and a genuine / clone / none verdict;
* ``calibration``: every number behind those decisions, with the measurements they come from;
* ``watch``: clone watch in the daemon and ``Detector``: the voiceprints in force and an utterance's voice check.

The embeddings come from the speaker encoder stage (``voxwatch.pipeline.stages.voice``). Nothing here opens a
socket or a device; the daemon's routers ask for voice checks (``voxwatch.pipeline.router``) and its voice worker
answers them with ``watch.VoiceChecker``.
"""
