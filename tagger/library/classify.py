"""Classifying the catalogue: every readable track the active model has not judged yet.

The classifier decodes in worker processes and batches inference itself; this job only feeds it
paths and stores what comes back, committing every ``commit_every`` tracks or ``commit_s``
seconds, whichever comes first, so that a kill loses at most a few tracks and the next run starts
where this one stopped.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from tagger.engine.classifier import caveat
from tagger.library.db import Library, among
from tagger.library.progress import Cancel, Progress, is_cancelled, report
from tagger.library.schema import (
    BundleRecord,
    Prediction,
    Track,
    TrackStatus,
    WindowPrediction,
    utcnow,
)


class ClassifierLike(Protocol):
    """What the job needs of ``tagger.engine.Classifier``. ``classify_paths`` yields, in input
    order, results (``path, probs, window_probs, window_starts_s, n_windows, padded``) or
    failures (``path, reason``)."""

    bundle_id: str
    labels: list[str]  # genres; a multi-label model also has ``descriptors`` and a ``threshold``

    def classify_paths(self, paths: list, workers: int | None) -> Iterator: ...


@dataclass
class ClassifyReport:
    model_id: int
    total: int = 0  # tracks that needed classifying
    classified: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    #: (path, why) for tracks whose confidence rests on padding or on a truncated file
    caveats: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False


def use_model(session: Session, classifier: ClassifierLike, source: str | None) -> BundleRecord:
    """Record the classifier's bundle (once) and make it the active model."""
    model = session.scalar(select(BundleRecord).where(BundleRecord.bundle_id == classifier.bundle_id))
    if model is None:
        model = BundleRecord(bundle_id=classifier.bundle_id, labels=list(classifier.labels), source=source,
                      descriptors=list(getattr(classifier, "descriptors", [])),
                      threshold=getattr(classifier, "threshold", None))
        session.add(model)
    session.execute(update(BundleRecord).where(BundleRecord.bundle_id != classifier.bundle_id).values(active=False))
    model.active, model.last_used_at = True, utcnow()
    if source is not None:
        model.source = source
    session.flush()
    return model


def active_model(session: Session) -> BundleRecord | None:
    return session.scalar(select(BundleRecord).where(BundleRecord.active))


def _unclassified(session: Session, model_id: int, limit_to: Iterable[int] | None) -> list[tuple[int, str]]:
    done = exists().where(Prediction.track_id == Track.id, Prediction.model_id == model_id)
    query = select(Track.id, Track.path).where(Track.status == TrackStatus.OK, ~done).order_by(Track.id)
    if limit_to is not None:
        query = query.where(among(Track.id, limit_to))
    return [(tid, path) for tid, path in session.execute(query)]


def _prediction(track_id: int, model: BundleRecord, result: Any) -> Prediction:
    probs = np.asarray(result.probs, dtype=np.float64)
    best = int(probs.argmax())
    return Prediction(
        track_id=track_id, model_id=model.id, genre=model.labels[best], confidence=float(probs[best]),
        probs=probs.tolist(), descriptor_probs=np.asarray(getattr(result, "descriptor_probs", []), dtype=np.float64).tolist(),
        n_windows=int(result.n_windows), padded=bool(result.padded),
        audio_fraction=float(result.audio_fraction), truncated=bool(result.truncated),
        windows=[WindowPrediction(start_s=float(s), probs=np.asarray(p, dtype=np.float64).tolist())
                 for s, p in zip(result.window_starts_s, result.window_probs)],
    )


def classify_library(lib: Library, classifier: ClassifierLike, *, source: str | None = None,
                     workers: int | None = None, track_ids: Iterable[int] | None = None,
                     progress: Progress | None = None, cancel: Cancel | None = None,
                     commit_every: int = 8, commit_s: float = 1.0) -> ClassifyReport:
    """Classify every OK track (or those of ``track_ids``) lacking a prediction by ``classifier``.

    Tracks that cannot be decoded are marked unreadable with the reason, so they are not retried
    until a rescan finds the file changed.
    """
    with lib.session() as session:
        model = use_model(session, classifier, source)
        session.commit()
        todo = _unclassified(session, model.id, track_ids)
        rep = ClassifyReport(model_id=model.id, total=len(todo))
        if not todo:
            return rep
        results = classifier.classify_paths([path for _, path in todo], workers=workers)
        last_commit = time.monotonic()
        try:
            for done, ((track_id, path), result) in enumerate(zip(todo, results), 1):
                if str(result.path) != path:
                    raise RuntimeError(f"classifier answered for {result.path}, expected {path}")
                reason = getattr(result, "reason", None)
                if reason is not None:
                    track = session.get(Track, track_id)
                    track.status, track.error = TrackStatus.UNREADABLE, reason
                    rep.failed.append((path, reason))
                else:
                    session.add(_prediction(track_id, model, result))
                    rep.classified += 1
                    why = caveat(result.padded, result.audio_fraction, result.truncated, result.duration_s)
                    if why is not None:
                        rep.caveats.append((path, why))
                if done % commit_every == 0 or time.monotonic() - last_commit >= commit_s:
                    session.commit()
                    last_commit = time.monotonic()
                report(progress, done, len(todo))
                if is_cancelled(cancel):
                    rep.cancelled = done < len(todo)
                    break
        finally:
            session.commit()
            close = getattr(results, "close", None)
            if close is not None:
                close()
    return rep
