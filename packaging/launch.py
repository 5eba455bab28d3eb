"""Entry point of the packaged app: ``genre-tagger`` itself, so a double-click (no arguments) opens
the window and the same binary still runs the command line."""

import multiprocessing
import sys

if __name__ == "__main__":
    # decoding workers and training runs are spawned processes; in a frozen app they start here
    multiprocessing.freeze_support()
    from tagger.cli import main

    sys.exit(main())
