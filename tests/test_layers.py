"""The import arrows point one way: the runtime (``trainer.runtime``) imports nothing of training
or of the app, training (the rest of ``trainer``) never imports the app (``tagger``), and the app
reaches the trainer only through the runtime and the training service (``trainer.service``).

Every module's imports are read with ``ast``, function-level imports included, so an import that
only runs on some path still counts. A failure names the module, the line and what it imports.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, imported name) for every import statement in ``path``: ``import a.b`` gives ``a.b``,
    ``from a import b`` gives ``a.b`` (``b`` may be a module or a name in ``a``), relative ones resolved."""
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


#: All of the trainer the app may import: the runtime, and the training service (which the window's
#: retraining and ``genre-tagger retrain`` call).
APP_MAY_USE = ("trainer.runtime", "trainer.service")


def inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def forbidden(importer: str, imported: str) -> bool:
    """Whether ``importer`` may not import ``imported``."""
    if inside(importer, "trainer.runtime"):
        return inside(imported, "tagger") or (inside(imported, "trainer") and not inside(imported, "trainer.runtime"))
    if inside(importer, "trainer"):
        return inside(imported, "tagger")
    if inside(importer, "tagger"):
        return inside(imported, "trainer") and not any(inside(imported, allowed) for allowed in APP_MAY_USE)
    return False


def crossings(root: Path) -> list[str]:
    """Every import in ``root/trainer`` and ``root/tagger`` that crosses a line the wrong way, as
    ``module:line imports target``."""
    found = []
    for path in sorted(p for package in ("tagger", "trainer") for p in (root / package).rglob("*.py")):
        importer = module_name(path, root)
        found += [f"{importer}:{line} imports {target}" for line, target in imports(path, root)
                  if forbidden(importer, target)]
    return found


def test_no_import_crosses_a_layer_the_wrong_way():
    bad = crossings(ROOT)
    assert not bad, "imports against the layering:\n" + "\n".join(bad)


def test_the_check_sees_imports_inside_functions_and_relative_ones(tmp_path):
    runtime = tmp_path / "trainer" / "runtime"
    runtime.mkdir(parents=True)
    (tmp_path / "trainer" / "__init__.py").write_text("")
    (runtime / "__init__.py").write_text("")
    (runtime / "fine.py").write_text("from trainer.runtime import errors\nfrom trainer import runtime\nimport numpy\n")
    (runtime / "late.py").write_text("def f():\n    from trainer.fit import fit\n")
    (runtime / "relative.py").write_text("from .. import methods\n")
    (tmp_path / "trainer" / "app.py").write_text("import tagger.cli\n")
    (tmp_path / "tagger").mkdir()
    (tmp_path / "tagger" / "__init__.py").write_text("")
    (tmp_path / "tagger" / "window.py").write_text("from trainer import service\nfrom trainer.runtime import bundle\n"
                                                   "def f():\n    from trainer.fit import fit\n")
    assert crossings(tmp_path) == ["tagger.window:4 imports trainer.fit.fit",
                                   "trainer.app:1 imports tagger.cli",
                                   "trainer.runtime.late:2 imports trainer.fit.fit",
                                   "trainer.runtime.relative:1 imports trainer.methods"]


@pytest.mark.parametrize("bundle", ["gtzan10-xgboost"])
def test_loading_the_shipped_xgboost_bundle_needs_no_torch_and_no_training_code(bundle):
    probe = ("import sys\n"
             "from trainer.runtime import bundle\n"
             "from trainer.runtime.resources import SHIPPED_BUNDLES\n"
             f"bundle.load(SHIPPED_BUNDLES[{bundle!r}])\n"
             "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'trainer.fit', "
             "'trainer.methods', 'tagger'))))\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert out.stdout.strip() == "[]", out.stdout
