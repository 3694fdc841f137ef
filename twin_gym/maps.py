"""Map definitions: a DEM source and build options, read from TOML."""

from __future__ import annotations

import importlib.resources
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin_gym.errors import InputError
from twin_gym.terrain.build import BuildOptions, build_twin
from twin_gym.terrain.sources import MATPLOTLIB_PREFIX
from twin_gym.terrain.twin import TerrainTwin

DEFAULT_MAP = "jacksboro"

_BUILD_KEYS = {f for f in BuildOptions.__dataclass_fields__}


@dataclass(frozen=True)
class MapDefinition:
    """A twin's recipe: where its DEM is and how to build it."""

    name: str
    """Short name of the map."""
    source: str
    """DEM path (absolute, or resolved against the TOML's folder) or a
    ``matplotlib:NAME`` sample."""
    options: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of :class:`twin_gym.terrain.build.BuildOptions`."""
    description: str = ""
    """One line about the place."""

    def build(self, use_cache: bool = True) -> TerrainTwin:
        """Build the twin, or load it from the cache."""
        return build_twin(self.source, use_cache=use_cache, **self.options)


def bundled_map_names() -> list[str]:
    """Return the names of the maps installed with twin_gym."""
    folder = importlib.resources.files("twin_gym_maps")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_map(name_or_path: str | Path = DEFAULT_MAP) -> MapDefinition:
    """Read a map definition by bundled name or by TOML path.

    Raises:
        InputError: No such map, invalid TOML or unknown keys.
    """
    text = str(name_or_path)
    if text.endswith(".toml") or Path(text).exists():
        path = Path(text).expanduser()
        if not path.is_file():
            raise InputError(f"map file not found: {path}; check the path")
        content = path.read_bytes()
        base = path.resolve().parent
        label = str(path)
    else:
        resource = importlib.resources.files("twin_gym_maps") / f"{text}.toml"
        if not resource.is_file():
            names = bundled_map_names()
            raise InputError(
                f"unknown map {text!r}; bundled maps: {', '.join(names)}, "
                "or give the path of a map TOML file"
            )
        content = resource.read_bytes()
        base = None
        label = f"bundled map {text}"
    try:
        document = tomllib.loads(content.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{label} is not valid TOML: {error}") from None
    return _parse(document, base, label)


def _parse(document: dict, base: Path | None, label: str) -> MapDefinition:
    unknown = set(document) - {"name", "description", "dem", "build"}
    if unknown:
        raise InputError(f"{label}: unknown keys {sorted(unknown)}")
    dem = document.get("dem")
    if not isinstance(dem, dict) or "source" not in dem:
        raise InputError(f'{label}: missing [dem] source = "PATH"')
    options: dict[str, Any] = {}
    for key, value in dem.items():
        if key == "source":
            continue
        if key not in ("src_crs", "vertical_datum"):
            raise InputError(f"{label}: unknown key dem.{key}")
        options[key] = value
    build_keys = sorted(_BUILD_KEYS - {"src_crs", "vertical_datum"})
    for key, value in document.get("build", {}).items():
        if key not in build_keys:
            raise InputError(
                f"{label}: unknown key build.{key}; valid keys: {', '.join(build_keys)}"
            )
        options[key] = tuple(value) if key == "aoi" else value

    source = str(dem["source"])
    if not source.startswith(MATPLOTLIB_PREFIX) and base is not None:
        source_path = Path(source).expanduser()
        if not source_path.is_absolute():
            source = str(base / source_path)
    name = str(document.get("name", Path(label).stem))
    return MapDefinition(name, source, options, str(document.get("description", "")))
