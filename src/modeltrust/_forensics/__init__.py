"""Weight forensics: what was done to a model's weights relative to a base, or on its own.

The package reads tensors without executing anything (:mod:`.tensors`), pairs the tensors of
two models (:mod:`.pairing`), measures each pair's delta (:mod:`.delta`), turns the
statistics into verdicts such as abliteration or a LoRA merge (:mod:`.verdicts`), and checks
a single model for the abliteration signature (:mod:`.inspect`). Memory stays bounded by the
two tensors being compared plus small sketches, whatever the size of the model.
"""
