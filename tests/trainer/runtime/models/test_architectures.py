"""The audio methods' networks have the seeds' shapes, and their configs the seeds' values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from trainer.grid import GRIDS
from trainer.methods import create, get
from trainer.methods.image_nets import CNN_IMAGE_GRID
from trainer.runtime.models.image_nets import vote
from trainer.runtime.models.nets import count_parameters

GENRES = [f"g{i}" for i in range(10)]


def network(name: str, input_shape: tuple[int, ...], **overrides) -> nn.Module:
    return create(name, GENRES, **overrides).new_module(input_shape)


def logits_shape(model: nn.Module, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    model.eval()
    with torch.no_grad():
        return tuple(model(torch.zeros(2, *input_shape)).shape)


def test_fft_mlp_has_seed_003s_2801098_parameters():
    model = network("fft-mlp", (2049,))
    # Linear -> BatchNorm -> GELU -> Dropout(.5) for 1024-512-256-128-64, then Linear to 10:
    # 2,797,130 weights and biases + 2 x 1,984 batch-norm scales and shifts.
    assert count_parameters(model) == 2_801_098
    kinds = [type(m) for m in model]
    assert kinds[:4] == [nn.Linear, nn.BatchNorm1d, nn.GELU, nn.Dropout]
    assert [m.out_features for m in model if isinstance(m, nn.Linear)] == [1024, 512, 256, 128, 64, 10]
    assert all(m.p == 0.5 for m in model if isinstance(m, nn.Dropout))
    assert logits_shape(model, (2049,)) == (2, 10)


def test_seed_002_networks_layer_for_layer():
    fc = network("mfcc-fc", (20,))
    assert [m.out_features for m in fc if isinstance(m, nn.Linear)] == [300, 150, 10]
    assert count_parameters(fc) == 52_960

    cnn = network("mfcc-cnn", (20,))
    assert count_parameters(cnn) == 148_256
    assert cnn.dense[0].out_features == 512 and isinstance(cnn.dense[1], nn.BatchNorm1d)
    assert isinstance(cnn.dense[2], nn.LeakyReLU)
    convs = [m for m in cnn.conv if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size) for c in convs] == [(64, (2, 2)), (128, (2, 2)), (128, (2, 2))]
    assert cnn.conv(torch.zeros(1, 32, 4, 4)).shape == (1, 128, 1, 1)  # 4 -> 3 -> 2 -> 1
    assert [m.out_features for m in cnn.head.modules() if isinstance(m, nn.Linear)] == [150, 64, 10]

    rnn = network("mfcc-chroma-rnn", (12, 32))
    assert rnn.dense.in_features == 12 * 32 and rnn.dense.out_features == 256
    assert [(l.input_size, l.hidden_size) for l in rnn.lstms] == [(16, 128), (128, 32)]
    assert count_parameters(rnn) == 194_890
    assert logits_shape(rnn, (12, 32)) == (2, 10)


@pytest.mark.parametrize("name, bins", [("bilstm-attn", 80), ("bigru-attn-mfcc", 60), ("bilstm-attn-cqt", 84)])
def test_recurrent_attention_networks(name, bins):
    model = network(name, (bins, 300))
    expected = (nn.LSTM, 16) if "lstm" in name else (nn.GRU, 32)
    assert (type(model.rnn), model.rnn.hidden_size) == expected and model.rnn.bidirectional
    assert model.score.in_features == 2 * expected[1] and model.score.out_features == 1
    assert logits_shape(model, (bins, 300)) == (2, 10)


def test_attention_is_a_softmax_over_time():
    model = network("bilstm-attn", (80, 50)).eval()
    h, _ = model.rnn(model.frames(torch.randn(3, 80, 50)))
    weights = torch.softmax(model.score(h), dim=1)
    assert weights.shape == (3, 50, 1)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(3, 1))


def test_transformer_has_four_layers_with_feedforward_16():
    model = network("transformer", (80, 400))
    layers = model.encoder.layers
    assert len(layers) == 4
    assert all(l.linear1.out_features == 16 and l.linear1.in_features == 80 for l in layers)
    assert layers[0].self_attn.num_heads == 4
    assert logits_shape(model, (80, 400)) == (2, 10)
    with pytest.raises(ValueError, match="heads"):
        network("transformer", (81, 400))


def test_seed_003_convolutions():
    cnn1d = network("cnn1d", (80, 300))
    assert [m.out_channels for m in cnn1d.features if isinstance(m, nn.Conv1d)] == [128, 256, 512]
    assert cnn1d.out[0].p == 0.5
    cnn2d = network("cnn2d-cqt", (84, 300))
    assert [m.out_channels for m in cnn2d.features if isinstance(m, nn.Conv2d)] == [32, 64]
    for model, shape in ((cnn1d, (80, 300)), (cnn2d, (84, 300))):
        assert logits_shape(model, shape) == (2, 10)


def test_softmax_image_is_a_softmax_regression_over_112_column_groups():
    model = network("softmax-image", (3, 218, 336))
    assert (model.colour.in_features, model.colour.out_features) == (3, 1)
    assert model.groups == 112 and model.group_width == 3
    assert count_parameters(model) == 4 + 218 * 3 * 10 + 10
    assert logits_shape(model, (3, 218, 336)) == (2, 10)
    method = create("softmax-image", GENRES)
    assert method.normalizer.keep_axes == (0, 1, 2)  # per pixel


@pytest.mark.parametrize("name, shape", [("cnn-image", (3, 218, 336)), ("custom-cnn", (3, 288, 432)),
                                         ("cnn-mel128", (3, 128, 128)), ("crnn-mel128", (3, 128, 128))])
def test_image_cnns(name, shape):
    model = network(name, shape)
    assert logits_shape(model, shape) == (2, 10)
    if name.startswith("crnn"):
        assert model.lstm.hidden_size == 128 and model.lstm.input_size == 128 * 16  # 128 maps x 16 bands
    else:
        assert model.lstm is None


def test_a_grid_setting_the_image_cannot_take_is_refused_clearly():
    with pytest.raises(ValueError, match="cannot take inputs"):
        network("cnn-image", (3, 218, 336), kernel=300, padding=0)


def test_cnn_image_grid_covers_every_knob_seed_000_searched():
    assert GRIDS["cnn-image"] is CNN_IMAGE_GRID
    assert set(CNN_IMAGE_GRID) == {"train.batch_size", "train.lr", "kernel", "padding", "stride", "dropout",
                                   "hidden", "layers"}
    for key, values in CNN_IMAGE_GRID.items():
        create("cnn-image", GENRES, **{key: values[0]})  # every axis is a real setting


def test_vote_needs_three_of_six_else_the_best_member():
    # rows x members x classes; member 2 is the best on validation
    def member_votes(classes):
        return np.eye(4)[classes] * 0.7 + 0.075

    proba = np.stack([
        member_votes([1, 1, 1, 0, 2, 3]),   # three votes for class 1: it wins
        member_votes([1, 1, 0, 0, 2, 3]),   # no class reaches three: the best member (class 0) decides
        member_votes([1, 1, 1, 0, 0, 0]),   # three against three: no majority, the best member decides
    ])
    out = vote(proba, best=2, min_votes=3)
    assert out.argmax(axis=1).tolist() == [1, 0, 1]
    np.testing.assert_allclose(out[0], [1 / 6, 3 / 6, 1 / 6, 1 / 6])
    np.testing.assert_allclose(out[1], proba[1, 2])


def test_configs_hold_the_seeds_values():
    softmax = get("softmax-image").config.train
    assert (softmax.optimizer, softmax.lr, softmax.epochs, softmax.batch_size) == ("adam", 1e-3, 500, 32)
    assert get("softmax-image").pipeline_params == {"crop": True}
    custom = get("custom-cnn").config.train
    assert (custom.optimizer, custom.lr) == ("sgd", 1e-3)
    assert get("custom-cnn").pipeline_params == {}  # seed 001 feeds the whole figure
    vote_config = get("cnn-image-vote").config
    assert (vote_config.members, vote_config.min_votes) == (6, 3)
    assert get("rf-mean").config.n_estimators == 100
    assert (get("bilstm-attn").config.hidden, get("bigru-attn").config.hidden) == (16, 32)
    assert get("transformer").config.dim_feedforward == 16 and get("transformer").config.layers == 4
    assert get("mfcc-fc").pipeline == "mfcc-segments" and get("mfcc-chroma-rnn").pipeline == "mfcc-chroma-periods"
    assert get("cnn-mel128-aug").config.augment and not get("cnn-mel128").config.augment
    assert {n: get(n).published_accuracy for n in ("rf-mean", "rf-mean-mfcc", "rf-mean-cqt")} == {
        "rf-mean": 27.0, "rf-mean-mfcc": 14.0, "rf-mean-cqt": 32.0}
    assert {n: get(n).published_accuracy for n in ("cnn-mel128", "cnn-mel128-aug", "crnn-mel128", "crnn-mel128-aug")} == {
        "cnn-mel128": 55.0, "cnn-mel128-aug": 66.0, "crnn-mel128": 45.5, "crnn-mel128-aug": 54.5}
    for name, pipeline, params in (("bilstm-attn", "logmel", {"n_mels": 80}), ("transformer-mfcc", "mfcc", {"n_mfcc": 60}),
                                   ("cnn1d-cqt", "cqt", {"n_bins": 84}), ("fft-mlp", "fft", {"n_bins": 2049})):
        assert (get(name).pipeline, get(name).pipeline_params) == (pipeline, params)
