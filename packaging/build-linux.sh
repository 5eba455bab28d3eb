#!/usr/bin/env bash
# Build the double-clickable Linux app and add it to the applications menu (and the desktop).
#
#   packaging/build-linux.sh           build dist/genre-tagger/ with PyInstaller, then install the launcher
#   packaging/build-linux.sh --venv    no build: the launcher runs the project's .venv/bin/genre-tagger
#   packaging/build-linux.sh --no-install   build only
#
# The launcher is a .desktop file in ~/.local/share/applications with the app icon installed in the
# user's icon theme; nothing outside the home folder is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
mode=bundle install=yes
for arg in "$@"; do
    case "$arg" in
        --venv) mode=venv ;;
        --no-install) install=no ;;
        *) echo "usage: $0 [--venv] [--no-install]" >&2; exit 2 ;;
    esac
done

if [ "$mode" = bundle ]; then
    "$PYTHON" -m PyInstaller --version >/dev/null 2>&1 || "$PYTHON" -m pip install -q "pyinstaller>=6.10"
    "$PYTHON" -m PyInstaller --noconfirm --clean --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" \
        "$ROOT/packaging/genre-tagger.spec"
    target="$ROOT/dist/genre-tagger/genre-tagger"
else
    target="$ROOT/.venv/bin/genre-tagger"
fi
[ -x "$target" ] || { echo "not found: $target" >&2; exit 1; }
echo "app: $target"
[ "$install" = yes ] || exit 0

data=${XDG_DATA_HOME:-$HOME/.local/share}
install -Dm644 "$ROOT/resources/icons/genre-tagger.svg" "$data/icons/hicolor/scalable/apps/genre-tagger.svg"
install -Dm644 "$ROOT/resources/icons/genre-tagger.png" "$data/icons/hicolor/256x256/apps/genre-tagger.png"
launcher="$data/applications/genre-tagger.desktop"
mkdir -p "$(dirname "$launcher")"
sed "s|^Exec=.*|Exec=\"$target\"|" "$ROOT/packaging/genre-tagger.desktop" > "$launcher"
chmod +x "$launcher"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
echo "launcher: $launcher (Genre Tagger in the applications menu)"
desktop=$(command -v xdg-user-dir >/dev/null && xdg-user-dir DESKTOP || echo "$HOME/Desktop")
if [ -d "$desktop" ]; then
    cp "$launcher" "$desktop/genre-tagger.desktop"
    chmod +x "$desktop/genre-tagger.desktop"
    command -v gio >/dev/null && gio set "$desktop/genre-tagger.desktop" metadata::trusted true 2>/dev/null || true
    echo "desktop icon: $desktop/genre-tagger.desktop"
fi
