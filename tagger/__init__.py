"""Genre tagger: classify a music library's genres and write them into the files."""

__version__ = "0.1.0"
