"""Every library query selects the same tracks in SQL as its Python meaning does, on a real
catalogue (files scanned and classified) with the awkward cases planted: non-ASCII genres in
another case, a name that is not UTF-8, folders whose names hold wildcards or share a prefix,
tracks with no prediction, an empty accepted list, missing and unreadable files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import update

from tagger.library import (
    Prediction,
    Track,
    TrackStatus,
    classify_library,
    open_library,
    scan,
)
from tagger.library.listing import Filters, list_rows, track_ids
from tagger.library.queries import (
    And,
    Confidence,
    Confirmed,
    Everything,
    FileState,
    Folder,
    Format,
    Genre,
    Not,
    Or,
    Padded,
    Predicted,
    Query,
    Status,
    Text,
    TrackIds,
    Truncated,
    active_model_id,
    catalogue_select,
    status_expr,
    untrusted,
)
from tests.support import tone, write_audio
from tests.tagger.library.helpers import FakeClassifier, library_template, music  # noqa: F401

ODD_NAME = os.fsdecode(b"caf\xe9-jazz.wav")  # not UTF-8: held as a surrogate escape


@pytest.fixture
def catalogue(tmp_path, music):  # noqa: F811
    """The helpers' library plus three files in awkward places, scanned, classified, then given
    the values a real library ends up with."""
    for path in (music / "odd.wav", music / "albums2" / "rock-2.wav", music / "100% rock" / "rock-3.wav"):
        write_audio(path, tone(0.5, 8000, freq=300), 8000)
    os.rename(music / "odd.wav", music / ODD_NAME)  # the audio library cannot name it; the OS can
    with open_library(tmp_path / "lib.db") as lib:
        scan(lib, [music])
        classify_library(lib, FakeClassifier(), workers=0)
        with lib.session() as session:
            ids = {Path(p).name: i for p, i in session.execute(catalogue_select(-1, Track.path, Track.id))}
            plant = {
                "blues-wav.wav": dict(title="Straße", artist="Die Ärzte", genres=["Électro"],
                                      confirmed_genres=["électro"]),
                "jazz-flac.flac": dict(genres=["Jazz", "Rock"], confirmed_genres=["rock"]),
                "rock-ogg.ogg": dict(confirmed_genres=[]),  # an empty list is no accepted genre
                "blues-opus.opus": dict(status=TrackStatus.MISSING, confirmed_genres=["blues"]),
                "jazz-mp3.mp3": dict(album="Kind of Blue"),
            }
            for name, values in plant.items():
                session.execute(update(Track).where(Track.id == ids[name]).values(**values))
            for n, (name, track_id) in enumerate(sorted(ids.items())):  # spread confidences and flags
                session.execute(update(Prediction).where(Prediction.track_id == track_id)
                                .values(confidence=n / len(ids), padded=n % 3 == 0, truncated=n == 4))
            session.query(Prediction).filter(Prediction.track_id == ids["rock-2.wav"]).delete()
            session.execute(update(Prediction).where(Prediction.track_id == ids["rock-ogg.ogg"]).values(genre="Électro"))
            session.commit()
        yield lib, music, ids


def queries(music: Path, ids: dict[str, int]) -> dict[str, Query]:
    """Every kind of query, alone, negated and combined."""
    single = {
        **{f"status {s}": Status(s) for s in ("unclassified", "review", "accepted", "unreadable", "missing")},
        "genre rock": Genre("rock"), "genre ROCK": Genre("ROCK"), "genre électro": Genre("ÉLECTRO"),
        "genre jazz": Genre("jazz"), "genre none": Genre("polka"),
        "confidence >= .5": Confidence(at_least=0.5), "confidence <= .3": Confidence(at_most=0.3),
        "confidence .2-.6": Confidence(0.2, 0.6), "any confidence": Confidence(),
        "folder albums": Folder((str(music / "albums"),)), "folder music": Folder((str(music),)),
        "folder with %": Folder((str(music / "100% rock"),)), "no folder": Folder(()),
        "folder prefix only": Folder((str(music / "album"),)),
        "text strasse": Text("STRASSE"), "text ärzte": Text("ÄRZTE"), "text blue": Text("blue"),
        "text %": Text("%"), "text caf": Text("caf"), "text odd byte": Text(ODD_NAME[:4]),
        "format flac": Format("FLAC"), "format mp3": Format("mp3"),
        "padded": Padded(), "truncated": Truncated(), "untrusted": untrusted(),
        "confirmed": Confirmed(), "predicted": Predicted(), "ok": FileState(TrackStatus.OK),
        "picked": TrackIds([ids["jazz-flac.flac"], ids["rock-2.wav"], 10_000]), "everything": Everything(),
    }
    negated = {f"not {name}": Not(q) for name, q in single.items()}
    combined = {
        "rock and not padded": Genre("rock") & ~Padded(),
        "review or unreadable": Status("review") | Status("unreadable"),
        "not (confident and accepted)": ~(Confidence(at_least=0.4) & Confirmed()),
        "empty and": And(()), "empty or": Or(()),
        "window filters": Filters(folders=(str(music),), genre="jazz", min_confidence=0.1, text="jazz").query(),
    }
    return single | negated | combined


def test_sql_and_python_select_the_same_tracks(catalogue):
    lib, music, ids = catalogue
    everyone = list_rows(lib, Everything())
    assert len(everyone) == len(ids) == 12
    sizes = set()
    for name, query in queries(music, ids).items():
        in_sql = set(track_ids(lib, query))
        in_python = {row.track_id for row in everyone if query.match(row)}
        assert in_sql == in_python, name
        sizes.add(len(in_sql))
    assert len(sizes) > 5  # the queries tell tracks apart, not all or nothing


def test_the_status_has_one_meaning(catalogue):
    lib, _, ids = catalogue
    with lib.session() as session:
        in_sql = dict(session.execute(catalogue_select(active_model_id(session), Track.id, status_expr())).all())
    assert in_sql == {row.track_id: row.review_status for row in list_rows(lib, Everything())}
    by_name = {name: in_sql[i] for name, i in ids.items()}
    assert by_name["broken.mp3"] == by_name["empty.flac"] == "unreadable"
    assert by_name["blues-opus.opus"] == "missing"  # gone from disk, though it was accepted
    assert by_name["blues-wav.wav"] == by_name["jazz-flac.flac"] == "accepted"
    assert by_name["rock-ogg.ogg"] == "review"  # an empty accepted list accepts nothing
    assert by_name["rock-2.wav"] == "unclassified"


def test_queries_select_what_was_planted(catalogue):
    lib, music, ids = catalogue

    def names(query: Query) -> set[str]:
        return {Path(r.path).name for r in list_rows(lib, query)}

    assert names(Genre("ÉLECTRO")) == {"blues-wav.wav", "rock-ogg.ogg"}  # in the file, accepted, predicted
    assert names(Text("strasse")) == {"blues-wav.wav"}  # ß folds to ss
    assert names(Folder((str(music / "100% rock"),))) == {"rock-3.wav"}
    assert names(Folder((str(music / "albums"),))) == {p.name for p in (music / "albums").iterdir()}
    assert names(Folder((str(music / "album"),))) == set()
    assert names(Text("café")) == set() and names(Text("caf")) == {ODD_NAME}
    listed = list_rows(lib, TrackIds([ids[ODD_NAME]]))
    assert listed[0].path == str(music / ODD_NAME)  # the name's bytes come back exactly
    assert [r.shown_status for r in list_rows(lib, TrackIds([ids["blues-wav.wav"], ids["jazz-flac.flac"]]))] \
        == ["written", "accepted"]  # the file holds "Électro" already; "Jazz; Rock" is not "rock"
