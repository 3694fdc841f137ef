import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "twin_gym").rglob("__init__.py")
    }
    missing = found - listed
    assert not missing, f"add these packages to pyproject.toml: {sorted(missing)}"


IMPORT_EACH = """
import importlib, sys
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m.split(".")[0] == "twin_gym"]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as error:
        failed.append(f"{name}: {type(error).__name__}: {error}")
print("\\n".join(failed))
"""


def test_every_module_imports_first():
    # Each module is imported as the first of the package, so an import
    # cycle shows up whichever module a user imports first. The __main__
    # modules run the command line when imported.
    names = [
        ".".join(path.with_suffix("").relative_to(ROOT).parts).removesuffix(".__init__")
        for path in sorted((ROOT / "twin_gym").rglob("*.py"))
        if path.stem != "__main__"
    ]
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH, *names],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == ""
