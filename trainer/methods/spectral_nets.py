"""Models on spectral features (seeds 002 and 003), as trained here: the networks by the shared
loop, the forest by scikit-learn (configs and networks: ``trainer.runtime.models.spectral_nets``)."""

from __future__ import annotations

from trainer.methods import MethodSpec, register
from trainer.methods.base import Arrays, Hooks, Method
from trainer.methods.sequence_nets import (
    SEED002_PROTOCOL,
    SEED003_FEATURES,
    SEED003_PROTOCOL,
)
from trainer.methods.torch_method import TorchMethod
from trainer.runtime.models.spectral_nets import (
    FftMlpConfig,
    ForestMeanConfig,
    ForestMeanModel,
    FrameCnnConfig,
    MfccCnnConfig,
    MfccFcConfig,
    SegmentNetModel,
    SpectralNetModel,
)


class SpectralNetMethod(TorchMethod, SpectralNetModel):
    """A dense or convolutional network on spectral features."""


class SegmentNetMethod(TorchMethod, SegmentNetModel):
    """Seed 002: every segment is an example of its song's genre."""


class ForestMeanMethod(Method, ForestMeanModel):
    """A random forest on the time-mean of each bin."""

    def fit(self, train: Arrays, valid: Arrays | None, hooks: Hooks | None = None) -> None:
        from sklearn.ensemble import RandomForestClassifier

        self.model = RandomForestClassifier(n_estimators=self.config.n_estimators, random_state=self.config.seed,
                                            n_jobs=-1).fit(self._means(train.x), train.y)


for _name, _config, _summary in (
    ("mfcc-fc", MfccFcConfig(), "20 MFCC means per half-second segment, dense 300-150"),
    ("mfcc-cnn", MfccCnnConfig(),
     "MFCC segment means, dense 512, BN, LeakyReLU, 4x4x32, conv 64/128/128 2x2, dropout .5, dense 150-64"),
):
    register(MethodSpec(name=_name, family=SegmentNetMethod, config=_config, seed="002", summary=_summary,
                        pipeline="mfcc-segments", published="62.6*" if _name == "mfcc-fc" else "77.9*",
                        published_accuracy=62.6 if _name == "mfcc-fc" else 77.9, seed_protocol=SEED002_PROTOCOL))

register(MethodSpec(name="fft-mlp", family=SpectralNetMethod, config=FftMlpConfig(), seed="003",
                    summary="first 2049 FFT bins (log), MLP 1024-512-256-128-64, BN, GELU, dropout .5",
                    pipeline="fft", pipeline_params={"n_bins": 2049}, published="49", published_accuracy=49.0,
                    seed_protocol=SEED003_PROTOCOL))

_RF_PUBLISHED = {"": 27.0, "-mfcc": 14.0, "-cqt": 32.0}
for _suffix, _feature, _pipeline, _params in SEED003_FEATURES:
    register(MethodSpec(name=f"rf-mean{_suffix}", family=ForestMeanMethod, config=ForestMeanConfig(), seed="003",
                        summary=f"random forest (100 trees) on the time-mean of {_feature}", pipeline=_pipeline,
                        pipeline_params=dict(_params), published=f"{_RF_PUBLISHED[_suffix]:g}",
                        published_accuracy=_RF_PUBLISHED[_suffix], seed_protocol=SEED003_PROTOCOL))
    for _name, _config, _summary in (
        ("cnn2d", FrameCnnConfig(dims=2, widths=(32, 64)), "2-D conv 32-64 + global pooling"),
        ("cnn1d", FrameCnnConfig(dims=1, widths=(128, 256, 512)), "1-D conv 128-256-512 + pooling, dropout .5"),
    ):
        register(MethodSpec(name=f"{_name}{_suffix}", family=SpectralNetMethod, config=_config, seed="003",
                            summary=f"{_summary} on {_feature} frames", pipeline=_pipeline,
                            pipeline_params=dict(_params), published="curves only", seed_protocol=SEED003_PROTOCOL))
