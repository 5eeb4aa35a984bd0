"""Clone watch: enrolled voices (voiceprints) and the check of speech against them.

* ``voiceprint``: the voiceprint file (embeddings, the encoder's id and hash, per-voice statistics) and the voices
  directory, written atomically;
* ``enrol``: a voiceprint from a person's recordings, refusing what a user typically gets wrong;
* ``check``: an utterance's embedding against the voiceprints: the nearest (or expected) voice, its similarity,
  a clone score and a genuine / clone / none verdict;
* ``calibration``: every number behind those decisions, with the measurements they come from.

The embeddings come from the speaker encoder stage (``voxwatch.pipeline.stages.voice``). Nothing here opens a
socket or a device; the daemon does not use it yet.
"""
