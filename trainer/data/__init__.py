"""Datasets and song-level splits."""
