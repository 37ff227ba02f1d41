"""The layers of docs/architecture.md hold: every module has a layer, and none imports a layer above its own."""

import subprocess
import sys
import tomllib
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# Folders of the app that hold no importable code of their own layer.
NOT_CODE = {"migrations", "locale", "static", "formats", "__pycache__"}


def _layers() -> list[str]:
    config = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "layers")
    return [module.strip() for layer in contract["layers"] for module in layer.replace("|", ":").split(":")]


def test_every_module_of_dsr_belongs_to_a_layer():
    layered = set(_layers())
    missing = []
    for path in sorted((BASE_DIR / "dsr").iterdir()):
        name = path.stem if path.suffix == ".py" else path.name
        if name in NOT_CODE or name == "__init__" or not (path.suffix == ".py" or (path / "__init__.py").exists()):
            continue
        module = f"dsr.{name}"
        if module not in layered and not any(layer.startswith(module + ".") for layer in layered):
            missing.append(module)
    assert missing == [], f"add these to the layers in pyproject.toml and docs/architecture.md: {missing}"


def test_the_data_map_package_has_every_module_in_a_layer():
    layered = set(_layers())
    modules = {f"dsr.datamap.{p.stem}" for p in (BASE_DIR / "dsr" / "datamap").glob("*.py") if p.stem != "__init__"}
    assert modules - layered == set()


def test_no_module_imports_a_layer_above_its_own_and_no_package_cycle():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--no-cache"], cwd=BASE_DIR, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


# STYLE.md: split a module into a package when it passes roughly 500 lines.
MODULE_LINES_MAX = 600


def test_no_module_of_dsr_is_long_enough_to_need_splitting_into_a_package():
    long = {
        str(path.relative_to(BASE_DIR)): lines
        for path in (BASE_DIR / "dsr").rglob("*.py")
        if "migrations" not in path.parts and (lines := len(path.read_text().splitlines())) > MODULE_LINES_MAX
    }
    assert long == {}, f"split these into packages (STYLE.md): {long}"
