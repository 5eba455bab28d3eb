"""The settings tab: the active model (with the way to retrain one), then a form built from the
option declarations in ``tagger.options``; each change is validated and saved at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from tagger.gui.bundles import BundleInfo, bundle_info, trained_bundles
from tagger.options import OPTIONS, Option
from tagger.settings import Settings
from trainer.runtime.bundle import BundleError
from trainer.runtime.resources import DEFAULT_BUNDLE, SHIPPED_BUNDLES


class SettingsPage(QScrollArea):
    """Emits ``changed(key)`` after a value is stored, ``retrain`` when the user asks to train."""

    changed = Signal(str)
    retrain = Signal()

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.editors: dict[str, QWidget] = {}
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self._model_box())
        sections: dict[str, QFormLayout] = {}
        for option in OPTIONS:
            if not option.section:
                continue
            if option.section not in sections:
                box = QGroupBox(option.section)
                sections[option.section] = QFormLayout(box)
                layout.addWidget(box)
            editor = self._editor(option)
            editor.setToolTip(option.help)
            self.editors[option.key] = editor
            row = self._with_browse(option, editor) if option.key == "library" else editor
            sections[option.section].addRow(option.title if option.kind is not bool else "", row)
            hint = QLabel(option.help, wordWrap=True)
            hint.setStyleSheet("color: #666666;")
            sections[option.section].addRow("", hint)
        self.problem = QLabel(wordWrap=True)
        self.problem.setStyleSheet("color: #b3261e")
        layout.addWidget(self.problem)
        layout.addStretch()
        body.setMaximumWidth(900)
        self.setWidget(body)
        self.setWidgetResizable(True)
        self.refresh_models()
        if settings.problems:
            self.problem.setText("\n".join(settings.problems))

    # The model

    def _model_box(self) -> QGroupBox:
        box = QGroupBox("Model")
        self.model_choice = QComboBox()
        self.model_choice.setMinimumContentsLength(40)
        self.model_choice.activated.connect(self._model_chosen)
        other = QPushButton("Other bundle…")
        other.setToolTip("Choose a bundle folder exported by genre-trainer")
        other.clicked.connect(self._choose_bundle)
        retrain = QPushButton("Retrain…")
        retrain.setToolTip("Train a new model from GTZAN, a folder per genre, or your accepted genres")
        retrain.clicked.connect(self.retrain)
        row = QHBoxLayout()
        row.addWidget(self.model_choice, 1)
        row.addWidget(other)
        row.addWidget(retrain)
        self.model_text = QLabel(wordWrap=True)
        layout = QVBoxLayout(box)
        layout.addLayout(row)
        layout.addWidget(self.model_text)
        return box

    def refresh_models(self) -> None:
        """List the shipped models (the default first), trained bundles and the chosen one; describe
        the active one."""
        current = self.settings.bundle_path
        choices: list[tuple[str, Path]] = []
        shipped = [DEFAULT_BUNDLE] + [p for p in SHIPPED_BUNDLES.values() if p != DEFAULT_BUNDLE]
        for path, info in [(p, self._describe(p)) for p in shipped] + [(b.path, b) for b in
                                                                      trained_bundles(self.settings.models_dir)]:
            if isinstance(info, BundleInfo):
                choices.append((info.title(), info.path))
            else:
                choices.append((f"Shipped model (missing: {info})", path))
        if all(path.resolve() != current.resolve() for _, path in choices):
            active = self._describe(current)
            choices.append((active.title() if isinstance(active, BundleInfo) else f"{current} (unusable)", current))
        self.model_choice.clear()
        for title, path in choices:
            self.model_choice.addItem(title, str(path))
            if path.resolve() == current.resolve():
                self.model_choice.setCurrentIndex(self.model_choice.count() - 1)
        active = self._describe(current)
        if isinstance(active, BundleInfo):
            self.model_text.setStyleSheet("")
            self.model_text.setText(active.description())
        else:
            self.model_text.setStyleSheet("color: #b3261e")
            self.model_text.setText(f"{active}\nChoose another bundle, or retrain one.")

    @staticmethod
    def _describe(path: Path) -> BundleInfo | str:
        try:
            return bundle_info(path)
        except BundleError as exc:
            return str(exc)

    def _model_chosen(self) -> None:
        path = Path(self.model_choice.currentData())
        self.set_model(path)

    def _choose_bundle(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Model bundle folder", str(self.settings.models_dir))
        if folder:
            self.set_model(Path(folder))

    def set_model(self, path: Path) -> None:
        """Make ``path`` the model in use ("" in the settings for the shipped one)."""
        self._store("model", "" if path.resolve() == DEFAULT_BUNDLE.resolve() else str(path))
        self.refresh_models()

    # The generated form

    def _editor(self, option: Option) -> QWidget:
        value = self.settings[option.key]
        if option.choices is not None:
            combo = QComboBox()
            for stored, title in option.choices.items():
                combo.addItem(title, stored)
            combo.setCurrentIndex(combo.findData(value))
            combo.currentIndexChanged.connect(lambda: self._store(option.key, combo.currentData()))
            return combo
        if option.kind is bool:
            check = QCheckBox(option.title)
            check.setChecked(value)
            check.toggled.connect(lambda on: self._store(option.key, on))
            return check
        if option.kind is str:
            line = QLineEdit(value)
            line.setPlaceholderText(option.help)
            line.editingFinished.connect(lambda: self._store(option.key, line.text().strip()))
            return line
        if option.percent or option.kind is int:
            spin = QSpinBox()
            scale = 100 if option.percent else 1
            spin.setRange(int((option.minimum or 0) * scale), int((option.maximum or 0) * scale))
            spin.setSuffix("%" if option.percent else "")
            spin.setSpecialValueText(option.special)
            spin.setValue(round(value * scale))
            spin.valueChanged.connect(lambda v: self._store(option.key, v / scale if option.percent else v))
            return spin
        box = QDoubleSpinBox(decimals=1, suffix=" s")
        box.setRange(option.minimum or 0.0, option.maximum or 0.0)
        box.setSpecialValueText(option.special)
        box.setValue(value)
        box.valueChanged.connect(lambda v: self._store(option.key, v))
        return box

    def _with_browse(self, option: Option, editor: QWidget) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(editor, 1)
        browse = QPushButton("Browse…")

        def choose() -> None:
            path, _ = QFileDialog.getSaveFileName(self, option.title, str(self.settings.library_path),
                                                  "Library (*.db)", options=QFileDialog.Option.DontConfirmOverwrite)
            if path and isinstance(editor, QLineEdit):
                editor.setText(path)
                self._store(option.key, path)

        browse.clicked.connect(choose)
        layout.addWidget(browse)
        return row

    def _store(self, key: str, value: Any) -> None:
        if self.settings[key] == value:
            return
        try:
            self.settings.set(key, value)
        except (ValueError, OSError) as exc:
            self.problem.setText(f"Not saved: {exc}")
            return
        self.problem.clear()
        self.changed.emit(key)
