"""Small neural vocoders trained here on the licensed real speech, and their copy-synthesis twins (training only).

Why: the detector needs fakes from neural vocoder architectures that may train, and the vocoded-bona-fide recipe
(Wang & Yamagishi, ICASSP 2023) gives the cleanest ones: a real training clip resynthesised from its own mel
spectrogram keeps speaker, words, loudness and channel, so only the vocoder's traces separate the pair. Even an
under-trained vocoder leaves its architecture's traces (transposed-convolution upsampling, an inverse-STFT head, the
residue of iterative denoising).

* :mod:`.mel`: the one log-mel of these vocoders (training, synthesis and the Griffin-Lim baseline);
* :mod:`.hifigan`, :mod:`.istft`: one-pass generators; :mod:`.diffwave`: a diffusion vocoder that samples;
* :mod:`.arches` names them, their families, training losses, synthesis and checkpoints;
* :mod:`.losses`: multi-resolution STFT and mel L1 (one-pass training, every vocoder's evaluation);
* :mod:`.segments`: the training rows and random segments;
* :mod:`.train`, :mod:`.twins`, :mod:`.evaluate`: the command lines (train, write twins, compare with Griffin-Lim).
"""
