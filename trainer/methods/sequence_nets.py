"""Recurrent and attention networks over frame sequences (seeds 002 and 003), as trained here by
the shared loop, with each seed's input variants (configs and networks:
``trainer.runtime.models.sequence_nets``)."""

from __future__ import annotations

from trainer.methods import MethodSpec, register
from trainer.methods.torch_method import TorchMethod
from trainer.runtime.models.sequence_nets import (
    MfccChromaRnnConfig,
    MfccChromaRnnModel,
    RnnAttentionConfig,
    SequenceModel,
    TransformerConfig,
)

SEED002_PROTOCOL = "segments split at random (windows of one song on both sides)"
SEED003_PROTOCOL = "GTZAN, 10 ms hop, 25 ms window features"
# Seed 003's three frame-wise inputs: name suffix, pipeline, its parameters.
SEED003_FEATURES: tuple[tuple[str, str, str, dict], ...] = (
    ("", "Mel80", "logmel", {"n_mels": 80}),
    ("-mfcc", "MFCC60", "mfcc", {"n_mfcc": 60}),
    ("-cqt", "CQT84", "cqt", {"n_bins": 84}),
)


class SequenceMethod(TorchMethod, SequenceModel):
    """A recurrent or attention network on frame features."""


class MfccChromaRnnMethod(TorchMethod, MfccChromaRnnModel):
    """Seed 002's recurrent network."""


for _suffix, _feature, _pipeline, _params in SEED003_FEATURES:
    for _name, _config, _summary, _published in (
        ("bilstm-attn", RnnAttentionConfig(cell="lstm", hidden=16), "bidirectional LSTM (H=16) + softmax attention", ""),
        ("bigru-attn", RnnAttentionConfig(cell="gru", hidden=32), "bidirectional GRU (H=32) + softmax attention", ""),
        ("transformer", TransformerConfig(), "4 encoder layers (4 heads, dim_feedforward 16) over 40 ms steps",
         "46-79 by feature"),
    ):
        register(MethodSpec(name=f"{_name}{_suffix}", family=SequenceMethod, config=_config, seed="003",
                            summary=f"{_summary} on {_feature} frames", pipeline=_pipeline,
                            pipeline_params=dict(_params), published=_published, seed_protocol=SEED003_PROTOCOL))

register(MethodSpec(
    name="mfcc-chroma-rnn", family=MfccChromaRnnMethod, config=MfccChromaRnnConfig(), seed="002",
    summary="MFCC+chroma means over 12 periods, dense 256, BN, 16x16, LSTM 128, LSTM 32",
    pipeline="mfcc-chroma-periods", published="83.8*", published_accuracy=83.8, seed_protocol=SEED002_PROTOCOL))
