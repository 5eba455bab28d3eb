from collections import Counter

import pytest

from tests.support import gtzan_dir
from trainer.data.feature_table import load_csv
from trainer.data.splits import Split, filtered_split, kfold_splits, random_split


@pytest.fixture(scope="module")
def table():
    return load_csv(gtzan_dir() / "features_30_sec.csv")


@pytest.mark.parametrize("name, sizes", [("random-80-20", (800, 0, 200)), ("random-70-20-10", (700, 200, 100))])
def test_random_splits_have_the_seed_ratios_per_genre(table, name, sizes):
    split = random_split(table.songs, table.genres, name, seed=3)
    assert (len(split.train), len(split.valid), len(split.test)) == sizes
    genre_of = dict(zip(table.songs, table.genres))
    # stratified: every genre has exactly its share of the test songs
    assert set(Counter(genre_of[s] for s in split.test).values()) == {sizes[2] // 10}
    assert not set(split.train) & set(split.test)


def test_seeds_change_random_splits_and_repeat_exactly(table):
    a, b, c = (random_split(table.songs, table.genres, seed=s) for s in (0, 0, 1))
    assert a == b and a.test != c.test


def test_filtered_split_reads_the_published_lists_and_drops_unavailable_songs(table):
    songs = [s for s in table.songs if s != "jazz.00054"]
    split = filtered_split(gtzan_dir() / "splits", available=songs)
    assert split.sizes() == {"train": 442, "valid": 197, "test": 290}
    assert split.dropped == ("jazz.00054",)
    # no repeated clip sits on both sides: the CSV's identical rows never straddle train and test
    for group in table.duplicate_groups():
        sides = {part for part, ids in (("train", split.train), ("valid", split.valid), ("test", split.test))
                 for s in group if s in ids}
        assert len(sides) <= 1, group


def test_a_song_in_two_parts_is_refused():
    with pytest.raises(ValueError, match="one song in two parts"):
        Split("bad", train=("a", "b"), valid=(), test=("b",))


def test_kfold_tests_every_song_once(table):
    folds = kfold_splits(table.songs, table.genres, k=10, seed=0)
    tested = [s for f in folds for s in f.test]
    assert sorted(tested) == sorted(table.songs)


def test_the_csv_faults_are_surfaced(table):
    groups = table.duplicate_groups()
    assert len(groups) == 14 and all(len(g) == 2 for g in groups)  # GTZAN's 14 repeated pairs
    usable, dropped = table.usable()
    assert "jazz.00054" in dropped and len(usable.songs) == 1000 - 15


def test_a_filtered_split_with_no_test_songs_is_refused_clearly(real_clips):
    # the 30 real clips are all on the training side of the published lists
    with pytest.raises(ValueError, match="keeps no test songs among these 30; use a random split"):
        filtered_split(gtzan_dir() / "splits", available=list(real_clips))
