"""The detector's model stages side by side, each a subpackage of one shape: ``features`` (what the model reads),
``card`` (the JSON beside its ``.onnx``) and ``session`` (its onnxruntime session).

* ``filter``: the light window classifier that scores every speech window;
* ``verifier``: the heavier utterance model of the cascade, which judges what the filter finds suspicious.

Training reuses each stage's ``features`` so a model is trained on exactly what it reads at run time.
"""
