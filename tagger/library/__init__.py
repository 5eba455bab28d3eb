"""The music library: the SQLite catalogue, scanning, classifying, writing tags, and undo."""

from tagger.library.classify import (
    ClassifierLike,
    ClassifyReport,
    active_model,
    classify_library,
    use_model,
)
from tagger.library.db import (
    SCHEMA_VERSION,
    Library,
    LibraryError,
    default_db_path,
    open_library,
)
from tagger.library.journal import (
    Change,
    EditReport,
    SessionSummary,
    Skip,
    list_sessions,
    reconcile,
    undo,
)
from tagger.library.playlists import read_m3u
from tagger.library.progress import Cancel, Progress
from tagger.library.scan import ScanReport, scan
from tagger.library.schema import (
    BundleRecord,
    EditStatus,
    Playlist,
    PlaylistEntry,
    Prediction,
    ProfileSnapshot,
    TagEdit,
    Track,
    TrackStatus,
    WindowPrediction,
    WriteSession,
)
from tagger.library.tracks import confirm_genres, track_ids_for
from tagger.library.write import MODES, WritePolicy, write_library

__all__ = [
    "MODES",
    "SCHEMA_VERSION",
    "Cancel",
    "Change",
    "ClassifierLike",
    "ClassifyReport",
    "EditReport",
    "EditStatus",
    "Library",
    "LibraryError",
    "BundleRecord",
    "Playlist",
    "PlaylistEntry",
    "Prediction",
    "ProfileSnapshot",
    "Progress",
    "ScanReport",
    "SessionSummary",
    "Skip",
    "TagEdit",
    "Track",
    "TrackStatus",
    "WindowPrediction",
    "WritePolicy",
    "WriteSession",
    "active_model",
    "classify_library",
    "confirm_genres",
    "default_db_path",
    "list_sessions",
    "open_library",
    "read_m3u",
    "reconcile",
    "scan",
    "track_ids_for",
    "undo",
    "use_model",
    "write_library",
]
