"""Model families by key: every registered method's model is found again by the key a bundle
records, with a default config of the same kind, and a manifest cannot name anything else."""

import pytest

from trainer.methods import create, specs
from trainer.runtime import models
from trainer.runtime.errors import MethodUnavailable
from trainer.runtime.models.musicnn import TAGS, MusicnnConfig


def methods_and_models():
    """(method name, a fresh method) for every method that can be made here without weights."""
    made = []
    for name, spec in sorted(specs().items()):
        labels = list(TAGS[spec.config.source]) if isinstance(spec.config, MusicnnConfig) else ["a", "b"]
        try:
            made.append((name, create(name, labels, **({"allow_random_init": True}
                                                        if hasattr(spec.config, "allow_random_init") else {}))))
        except MethodUnavailable:  # the EnCodecMAE package is not installed here
            continue
    return made


def test_every_method_is_a_model_of_a_family_found_by_its_key():
    made = methods_and_models()
    assert len(made) > 60
    for name, method in made:
        found = models.family(method.family)
        assert isinstance(method, found.model), name
        default = found.config()
        assert type(default) is type(method.config), name
        assert getattr(default, "head", None).__class__ is getattr(method.config, "head", None).__class__, name
    assert {m.family for _, m in made} == set(models.all_families())


@pytest.mark.parametrize("key", ["os.system", "tabular", "tabular.", "tabular.os", "..base.Model", "base.TableModel"])
def test_a_key_outside_the_families_is_refused(key):
    with pytest.raises(models.UnknownFamily, match="unknown model family"):
        models.family(key)
