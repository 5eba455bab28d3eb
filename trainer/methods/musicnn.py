"""The converted MusiCNN taggers as registered methods: they are not trained here, so ``fit``
refuses (the network, its weights and tags: ``trainer.runtime.models.musicnn``)."""

from __future__ import annotations

from trainer.methods import MethodSpec, register
from trainer.methods.base import Arrays, Hooks, Method
from trainer.runtime.errors import MethodUnavailable
from trainer.runtime.models.musicnn import MusicnnConfig, MusicnnTagger


class MusicnnMethod(Method, MusicnnTagger):
    """A converted tagger: registered for export and reports, never fitted."""

    def fit(self, train: Arrays, valid: Arrays | None, hooks: Hooks | None = None) -> None:
        raise MethodUnavailable(f"{self.name} is converted from the musicnn package, not trained here")


for _source, _title in (("MSD_musicnn", "Million Song Dataset (Last.fm's 50 most frequent tags)"),
                        ("MTT_musicnn", "MagnaTagATune (its 50 most frequent tags)")):
    register(MethodSpec(
        name=f"musicnn-{_source[:3].lower()}",
        family=MusicnnMethod, config=MusicnnConfig(source=_source), seed="",
        summary=f"MusiCNN tagger converted from the musicnn package, trained on the {_title}",
        pipeline="musicnn-mel"))
