#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine, then run the tagger on a sample or run the tests.
#   ./setup.sh run     install, then classify the sample clips headless
#   ./setup.sh test    install, then run the test suite
#   ./setup.sh         install only
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

need_apt=()
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)            # M4A/AAC decoding and the tests' encoders
ldconfig -p 2>/dev/null | grep -q libsndfile || need_apt+=(libsndfile1)
ldconfig -p 2>/dev/null | grep -q libEGL.so.1 || need_apt+=(libegl1)   # Qt, even offscreen
ldconfig -p 2>/dev/null | grep -q libxkbcommon.so.0 || need_apt+=(libxkbcommon0)
ldconfig -p 2>/dev/null | grep -q libfontconfig.so.1 || need_apt+=(libfontconfig1)
ldconfig -p 2>/dev/null | grep -q libgl.so.1 -i || need_apt+=(libgl1)
ldconfig -p 2>/dev/null | grep -q libxcb-cursor.so.0 || need_apt+=(libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1)  # Qt's X11 window
if ((${#need_apt[@]})); then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e ".[test,figures]"
    touch "$stamp"
fi

case "${1:-}" in
    run)
        sample="${2:-../shared/data/gtzan/genres_original}"
        [ -e "$sample" ] || { echo "no sample at $sample: give a music folder, ./setup.sh run FOLDER" >&2; exit 2; }
        exec "$VENV/bin/genre-tagger" classify "$sample"
        ;;
    test)
        shift
        export QT_QPA_PLATFORM=offscreen
        exec "$VENV/bin/python" -m pytest "$@"
        ;;
    "") echo "installed: $VENV/bin/genre-tagger, $VENV/bin/genre-trainer" ;;
    *) echo "usage: $0 [run [FOLDER] | test [PYTEST ARGS]]" >&2; exit 2 ;;
esac
