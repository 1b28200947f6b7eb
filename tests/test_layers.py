"""The package's layers: every module imports only from its own layer or the ones below.

The order, lowest first, is the one ``docs/architecture.md`` draws: base, core, data,
interop, training, lessons, web, cli. The package's ``__init__`` (the public API),
``__main__`` and the scikit-learn estimators (``sklearn``) sit above them all. Imports
inside functions count too: a lazy import up the layers is still one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import nudgenet

PACKAGE = Path(nudgenet.__file__).resolve().parent
BASE = {"_json", "_types", "_version", "constraints", "errors", "files", "plots"}
CORE = {
    "activations", "backprop", "cost", "descent", "gradcheck", "hessian", "init", "layout", "model",
    "network", "options", "schedules",
}  # fmt: skip
LAYERS = ("base", "core", "data", "interop", "training", "lessons", "web", "cli", "api")


def layer_of(module: str) -> str:
    """The layer of ``nudgenet.<module>`` (dotted, without the package name)."""
    top = module.split(".")[0]
    if top in ("", "__init__", "__main__", "sklearn"):
        return "api"
    if top in BASE:
        return "base"
    if top in CORE:
        return "core"
    if top in LAYERS:
        return top
    raise AssertionError(f"nudgenet.{module} belongs to no layer: add it to tests/test_layers.py")


def modules() -> list[tuple[str, Path]]:
    """Every module of the package, as (dotted name under nudgenet, path)."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out.append((".".join(parts), path))
    return out


def imported(module: str, path: Path) -> set[str]:
    """The nudgenet modules that ``module`` imports (dotted, under nudgenet)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
                if not (target == "nudgenet" or target.startswith("nudgenet.")):
                    continue
                target = target.removeprefix("nudgenet").lstrip(".")
            # `from . import x` may name a module x: count the module, not its package.
            names = [f"{target}.{a.name}".lstrip(".") for a in node.names]
            names = [n if (PACKAGE / n.replace(".", "/")).exists() or
                     (PACKAGE / (n.replace(".", "/") + ".py")).exists() else target
                     for n in names]  # fmt: skip
        else:
            continue
        for name in names:
            if name.startswith("nudgenet"):
                name = name.removeprefix("nudgenet").lstrip(".")
            elif isinstance(node, ast.Import):
                continue
            found.add(name)
    return found


@pytest.mark.parametrize(("module", "path"), modules(), ids=[m for m, _ in modules()])
def test_imports_only_from_its_layer_or_below(module: str, path: Path) -> None:
    own = LAYERS.index(layer_of(module))
    upward = sorted(
        f"nudgenet.{other} ({layer_of(other)})"
        for other in imported(module, path)
        if LAYERS.index(layer_of(other)) > own
    )
    assert not upward, f"nudgenet.{module} ({layer_of(module)}) imports from above: {upward}"


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The rule can fail: a core module importing the training loop is caught."""
    path = tmp_path / "descent.py"
    path.write_text("from .training.loop import train\n")
    assert imported("descent", path) == {"training.loop"}
    assert LAYERS.index(layer_of("training.loop")) > LAYERS.index(layer_of("descent"))


def test_every_module_has_a_layer() -> None:
    assert {layer_of(m) for m, _ in modules()} == set(LAYERS)


def test_seed_streams_are_derived_in_one_place() -> None:
    sites = [
        str(path.relative_to(PACKAGE))
        for _, path in modules()
        if "SeedSequence(" in path.read_text()
    ]
    assert sites == ["training/recipe.py"]
