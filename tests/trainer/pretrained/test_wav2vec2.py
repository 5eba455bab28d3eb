"""wav2vec2 methods (seeds 000 and 004) on a tiny random wav2vec2 saved as a user's weights folder."""

import json

import numpy as np
import pytest
import torch
from transformers import Wav2Vec2Config, Wav2Vec2Model

from tests.trainer.pretrained.conftest import classify, export, files_in
from trainer.methods import create, get
from trainer.methods.base import Hooks
from trainer.methods.wav2vec2 import BiasedPair
from trainer.report import comparison_table
from trainer.run import run_method
from trainer.runtime.errors import MethodUnavailable
from trainer.runtime.features import make
from trainer.runtime.features.embeddings import WAV2VEC2_SIZES
from trainer.runtime.models.nets import trainable_names
from trainer.runtime.models.wav2vec2 import freeze_wav2vec2, segment

LABELS = ["ambient", "march", "reggae", "swing", "techno", "waltz"]


def names_under(module: torch.nn.Module, *prefixes: str) -> set[str]:
    return {n for n, _ in module.named_parameters() if n.startswith(prefixes)}


def test_without_weights_the_method_refuses_and_says_how_to_give_them():
    with pytest.raises(MethodUnavailable, match=r"--weights wav2vec2-large=.*--allow-random-init"):
        create("wav2vec2-finetune", LABELS)
    with pytest.raises(MethodUnavailable, match="wav2vec2-large, wav2vec2-base"):
        create("wav2vec2-biased-ensemble", LABELS)


def test_the_seeds_defaults_are_registered():
    finetune = get("wav2vec2-finetune")
    assert (finetune.config.size, finetune.config.trainable_layers, finetune.config.pooling) == ("large", 2, "mean")
    assert (finetune.config.segments, finetune.config.overlap, finetune.config.train.lr) == (18, 0.5, 1e-4)
    assert finetune.published_accuracy == 72.5 and get("wav2vec2-biased-ensemble").config.alpha == 0.1
    probe = get("wav2vec2-probe-unfreeze").config
    assert (probe.size, probe.hidden, probe.batch_norm, probe.unfreeze_after) == ("base", (256, 128), True, 5)


def test_eighteen_half_overlapping_segments_span_a_30_s_clip():
    clip = np.arange(30 * 16000, dtype=np.float32)[None]
    parts = segment(clip, 18, 0.5)
    length = parts.shape[2]
    assert parts.shape[:2] == (1, 18) and length == int(30 * 16000 / 9.5)
    assert parts[0, 1, 0] == length // 2 and parts[0, -1, -1] <= clip[0, -1]
    assert clip.shape[1] - parts[0, -1, -1] < 18  # the last segment reaches the end of the clip


@pytest.mark.parametrize("layers, trainable", [
    (0, ("head.",)),
    (1, ("head.", "encoder.encoder.layers.1.")),
    (2, ("head.", "encoder.encoder.layers.")),
    (None, ("head.", "encoder.encoder.", "encoder.feature_projection.", "encoder.masked_spec_embed")),
])
def test_all_but_the_last_n_encoder_layers_are_frozen(tiny_wav2vec2, layers, trainable):
    method = create("wav2vec2-finetune", LABELS, weights=str(tiny_wav2vec2), trainable_layers=layers)
    model = method.classifier(str(tiny_wav2vec2), "large")
    assert set(trainable_names(model)) == names_under(model, *trainable)
    assert not names_under(model, "encoder.feature_extractor.") & set(trainable_names(model))


def test_pre_norm_models_also_train_their_final_layer_norm():
    encoder = Wav2Vec2Model(Wav2Vec2Config(**WAV2VEC2_SIZES["tiny"], do_stable_layer_norm=True, feat_extract_norm="layer"))
    freeze_wav2vec2(encoder, 1)
    assert set(trainable_names(encoder)) == names_under(encoder, "encoder.layers.1.", "encoder.layer_norm.")


def test_weights_are_those_of_the_users_folder(tiny_wav2vec2):
    saved = Wav2Vec2Model.from_pretrained(tiny_wav2vec2)
    method = create("wav2vec2-finetune", LABELS, weights=str(tiny_wav2vec2))
    model = method.classifier(str(tiny_wav2vec2), "large")
    for name, tensor in saved.state_dict().items():
        assert torch.equal(model.encoder.state_dict()[name], tensor), name


def test_finetune_trains_the_unfrozen_layers_only_and_its_bundle_tags_a_file(tmp_path, source, split, clips,
                                                                               tiny_wav2vec2):
    result = run_method("wav2vec2-finetune", source, split, seed=0,
                        overrides={"weights": str(tiny_wav2vec2), "segments": 3, "trainable_layers": 1,
                                   "train.epochs": 2})
    assert len(result.history) == 2 and result.method.pretrained is True
    saved = Wav2Vec2Model.from_pretrained(tiny_wav2vec2).state_dict()
    trained = result.method.model.encoder.state_dict()
    assert torch.equal(trained["encoder.layers.0.attention.q_proj.weight"], saved["encoder.layers.0.attention.q_proj.weight"])
    assert torch.equal(trained["feature_extractor.conv_layers.0.conv.weight"], saved["feature_extractor.conv_layers.0.conv.weight"])
    assert not torch.equal(trained["encoder.layers.1.attention.q_proj.weight"], saved["encoder.layers.1.attention.q_proj.weight"])

    folder = export(result, tmp_path / "bundle")
    assert files_in(folder) == {"bundle.json", "model.safetensors", "encoder/config.json", "encoder/model.safetensors"}
    meta = json.loads((folder / "bundle.json").read_text())
    assert meta["pretrained"] is True and meta["pipeline"] == {"name": "waveform", "params": {"sample_rate": 16000}}
    song = clips / "techno" / "techno.00003.wav"
    classifier, probs = classify(folder, song)
    windows = source.arrays([song.stem], result.pipeline, source.labels).x
    np.testing.assert_allclose(probs, result.method.predict_proba(windows).mean(axis=0), atol=1e-5)


def test_random_initialisation_only_on_request_and_marked_not_pretrained(tmp_path, source, split):
    result = run_method("wav2vec2-finetune", source, split, seed=0,
                        overrides={"allow_random_init": True, "size": "tiny", "segments": 2, "train.epochs": 1})
    summary = result.summary()
    assert result.method.pretrained is False and summary["pretrained"] is False
    row = {"method": "wav2vec2-finetune", "seed": "000", "input": "waveform", "pretrained": summary["pretrained"],
           "published": "72.5", "seed_protocol": "", "results": {"tiny": {"mean": summary["accuracy"], "std": 0, "n": 1}},
           "n_test": {"tiny": summary["n_test"]}, "train_seconds": summary["train_seconds"]}
    assert "| **not pretrained** | 72.5 |" in comparison_table([row], ["tiny"])
    meta = json.loads((export(result, tmp_path / "bundle") / "bundle.json").read_text())
    assert meta["pretrained"] is False and meta["config"]["allow_random_init"] is True


def test_biased_pair_trains_on_the_product_of_experts_and_predicts_with_the_main_model():
    torch.manual_seed(0)
    main, biased = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    pair = BiasedPair(main, biased, alpha=0.1).train()
    x = torch.randn(5, 4)
    expected = torch.log_softmax(main(x), -1) + 0.1 * torch.log_softmax(biased(x), -1)
    torch.testing.assert_close(pair(x), expected)
    assert trainable_names(pair) == ["main.weight", "main.bias"] and not biased.training
    torch.testing.assert_close(pair.eval()(x), main(x))


def test_biased_ensemble_fits_the_biased_model_then_the_main_one(source, split, tiny_wav2vec2):
    result = run_method("wav2vec2-biased-ensemble", source, split, seed=0,
                        overrides={"weights": str(tiny_wav2vec2), "biased_weights": str(tiny_wav2vec2),
                                   "segments": 2, "train.epochs": 1})
    assert [h["epoch"] for h in result.history] == [1, 2]
    assert result.method.model.__class__.__name__ == "Wav2Vec2Classifier"


def test_probe_unfreezes_the_encoder_after_n_epochs(source, split, tiny_wav2vec2):
    method = create("wav2vec2-probe-unfreeze", LABELS, weights=str(tiny_wav2vec2), unfreeze_after=1,
                    **{"train.epochs": 3, "train.patience": None})
    waveform = make("waveform", sample_rate=16000)
    seen = []
    method.fit(source.arrays(split.train, waveform, LABELS), source.arrays(split.valid, waveform, LABELS),
               Hooks(on_epoch=lambda log: seen.append(set(trainable_names(method.model)))))
    assert seen[0] == names_under(method.model, "head.")
    assert seen[1] == seen[2] == names_under(method.model, "head.", "encoder.encoder.", "encoder.feature_projection.",
                                             "encoder.masked_spec_embed")


def test_unfreezing_lowers_every_learning_rate(tiny_wav2vec2):
    method = create("wav2vec2-probe-unfreeze", LABELS, weights=str(tiny_wav2vec2))
    model = method.new_module((1, 16000))
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    for epoch in range(1, 6):
        method.unfreeze(epoch, model, optimizer)
    assert [g["lr"] for g in optimizer.param_groups] == [1e-3]
    method.unfreeze(6, model, optimizer)
    assert [g["lr"] for g in optimizer.param_groups] == [1e-5, 1e-5]
    assert sum(p.numel() for p in optimizer.param_groups[1]["params"]) == sum(
        p.numel() for n, p in model.encoder.named_parameters() if not n.startswith("feature_extractor."))
