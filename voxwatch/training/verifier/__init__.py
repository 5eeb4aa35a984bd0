"""Training of the cascade's verifier (torch): utterance features -> a small ResNet -> ONNX with its card.

``voxwatch train --stage verifier --data DIR [--data DIR ...] --out DIR`` caches the features of every train and
dev clip once (``data``), trains one candidate network (``model``, ``train``), keeps the epoch with the best dev
EER, and exports ``verifier.onnx`` + ``verifier.json`` (``export``): the card records the features the network
needs, the gate on the filter's utterance score chosen on dev so that nearly all fakes reach the verifier, and the
verifier's own threshold chosen on the dev utterances that pass the gate (``operating``). docs/verifier.md reports
the candidates and the choice.
"""
