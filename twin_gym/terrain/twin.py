"""The terrain twin: a metric height grid with its geodetic anchoring."""

from __future__ import annotations

import json
import os
import struct
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from affine import Affine
from pyproj import CRS, Transformer

from twin_gym.terrain.classes import SurfaceClass


@dataclass(frozen=True, eq=False)
class TerrainTwin:
    """A terrain model on a square metric grid in a projected working CRS.

    The local frame is ENU-like: ``x`` east and ``y`` north along the grid
    axes, ``z`` the height in the source's vertical datum, all in metres, with
    its origin at the working-CRS point ``origin_xy`` (the centre of the area
    of interest). Grid north differs from true north by ``convergence_deg``
    at the origin.

    Attributes:
        heights: Cell-centre heights in metres, shape (rows, cols), float32.
            Cells where ``valid`` is False hold the height of the nearest
            valid cell, so the surface stays continuous; their class is
            ``SurfaceClass.NO_DATA``.
        valid: True where the source (after hole filling) gave a height,
            shape (rows, cols), bool.
        classes: Semantic class of each cell, shape (rows, cols), uint8
            values of :class:`SurfaceClass`.
        transform: Affine transform from (col, row) to working-CRS
            coordinates of the cell corners; north-up, square cells.
        crs_wkt: Working CRS as WKT2.
        origin_xy: Working-CRS coordinates of the local origin, metres.
        anchor_lonlat: Longitude and latitude of the local origin in degrees,
            on the working CRS's own geodetic datum.
        convergence_deg: Grid convergence at the origin: the angle from true
            north to grid north, degrees, as PROJ reports it.
        scale_factor: Point scale factor of the working CRS at the origin.
        vertical_datum: Name of the vertical datum of the heights, or
            ``"unknown"`` when neither the source nor the user states it.
        metadata: Source description and build parameters, JSON-serialisable.
        structure_heights: Height of the structure standing on each cell,
            metres above the cell-centre height, shape (rows, cols), float32;
            0 where the cell has no structure. A structure is a flat-topped
            column over the cell's square footprint with its top at
            ``heights + structure_heights`` and vertical walls down to the
            terrain.
    """

    heights: np.ndarray
    valid: np.ndarray
    classes: np.ndarray
    transform: Affine
    crs_wkt: str
    origin_xy: tuple[float, float]
    anchor_lonlat: tuple[float, float]
    convergence_deg: float
    scale_factor: float
    vertical_datum: str = "unknown"
    metadata: dict[str, Any] = field(default_factory=dict)
    structure_heights: np.ndarray | None = None

    def __post_init__(self) -> None:
        rows, cols = self.heights.shape
        if self.structure_heights is None:
            object.__setattr__(
                self, "structure_heights", np.zeros(self.heights.shape, np.float32)
            )
        if self.structure_heights.shape != self.heights.shape:
            raise ValueError("structure_heights and heights differ in shape")
        if rows < 2 or cols < 2:
            raise ValueError(f"a twin needs at least 2 x 2 cells, got {rows} x {cols}")
        if self.valid.shape != self.heights.shape:
            raise ValueError("valid and heights differ in shape")
        if self.classes.shape != self.heights.shape:
            raise ValueError("classes and heights differ in shape")
        if self.transform.b != 0 or self.transform.d != 0:
            raise ValueError("a twin's transform must be north-up")
        if abs(self.transform.a + self.transform.e) > 1e-9 * abs(self.transform.a):
            raise ValueError("a twin's cells must be square")

    @property
    def shape(self) -> tuple[int, int]:
        """Grid shape as (rows, cols)."""
        return self.heights.shape

    @property
    def cell_size(self) -> float:
        """Cell edge length in metres."""
        return float(self.transform.a)

    @property
    def crs(self) -> CRS:
        """Working CRS."""
        return CRS.from_wkt(self.crs_wkt)

    @property
    def x_first(self) -> float:
        """Local x of the centre of column 0, metres."""
        return self.transform.c + 0.5 * self.cell_size - self.origin_xy[0]

    @property
    def y_first(self) -> float:
        """Local y of the centre of row 0 (the northern row), metres."""
        return self.transform.f - 0.5 * self.cell_size - self.origin_xy[1]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Working-CRS bounds of the grid as (left, bottom, right, top)."""
        rows, cols = self.shape
        left, top = self.transform.c, self.transform.f
        return (left, top - rows * self.cell_size, left + cols * self.cell_size, top)

    @property
    def local_extent(self) -> tuple[float, float, float, float]:
        """Local extent of the surface (the hull of the cell centres).

        Returns (x_min, y_min, x_max, y_max) in metres.
        """
        rows, cols = self.shape
        return (
            self.x_first,
            self.y_first - (rows - 1) * self.cell_size,
            self.x_first + (cols - 1) * self.cell_size,
            self.y_first,
        )

    def height_range(self) -> tuple[float, float]:
        """Return the minimum and maximum valid height in metres."""
        valid_heights = self.heights[self.valid]
        return float(valid_heights.min()), float(valid_heights.max())

    @cached_property
    def _to_geodetic(self) -> Transformer:
        crs = self.crs
        return Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)

    @cached_property
    def _from_geodetic(self) -> Transformer:
        crs = self.crs
        return Transformer.from_crs(crs.geodetic_crs, crs, always_xy=True)

    def local_to_lonlat(
        self, x: np.ndarray, y: np.ndarray, z: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Convert local metres to longitude, latitude and height.

        Longitude and latitude are degrees on the working CRS's geodetic
        datum. Heights pass through unchanged: they stay in the twin's
        vertical datum.

        Args:
            x: Local east coordinates in metres, any shape.
            y: Local north coordinates in metres, same shape as ``x``.
            z: Heights in metres, same shape; zeros when omitted.

        Returns:
            ``(lon, lat, height)`` arrays of float64.
        """
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        z = np.zeros_like(x) if z is None else np.asarray(z, dtype=np.float64)
        lon, lat = self._to_geodetic.transform(
            x + self.origin_xy[0], y + self.origin_xy[1]
        )
        return np.asarray(lon), np.asarray(lat), z.copy()

    def lonlat_to_local(
        self, lon: np.ndarray, lat: np.ndarray, height: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Convert longitude, latitude and height to local metres.

        The inverse of :meth:`local_to_lonlat`.

        Args:
            lon: Longitudes in degrees on the working CRS's geodetic datum.
            lat: Latitudes in degrees, same shape as ``lon``.
            height: Heights in metres, same shape; zeros when omitted.

        Returns:
            ``(x, y, z)`` arrays of float64 in the local frame.
        """
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        if height is None:
            height = np.zeros_like(lon)
        easting, northing = self._from_geodetic.transform(lon, lat)
        x = np.asarray(easting) - self.origin_xy[0]
        y = np.asarray(northing) - self.origin_xy[1]
        return x, y, np.asarray(height, dtype=np.float64).copy()

    def cell_of(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the (row, col) of the cell whose footprint contains local (x, y).

        Points off the grid get indices outside ``[0, rows)`` or ``[0, cols)``.
        """
        col = np.floor((np.asarray(x) - self.x_first) / self.cell_size + 0.5)
        row = np.floor((self.y_first - np.asarray(y)) / self.cell_size + 0.5)
        return row.astype(np.int64), col.astype(np.int64)

    def cell_centre(
        self, row: np.ndarray, col: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the local (x, y) of cell centres, in metres."""
        x = self.x_first + np.asarray(col, dtype=np.float64) * self.cell_size
        y = self.y_first - np.asarray(row, dtype=np.float64) * self.cell_size
        return x, y

    def no_data_fraction(self) -> float:
        """Return the fraction of cells that are not valid."""
        return float(1.0 - self.valid.mean())

    def summary(self) -> dict[str, Any]:
        """Return the facts ``twin-gym info`` prints, as plain values."""
        rows, cols = self.shape
        low, high = self.height_range()
        return {
            "source": self.metadata.get("source", "unknown"),
            "size": f"{cols} x {rows} cells",
            "cell_size_m": self.cell_size,
            "crs": self.crs.name,
            "bounds": [round(v, 3) for v in self.bounds],
            "anchor_lonlat": [round(v, 8) for v in self.anchor_lonlat],
            "height_range_m": [round(low, 3), round(high, 3)],
            "no_data_fraction": round(self.no_data_fraction(), 6),
            "convergence_deg": round(self.convergence_deg, 6),
            "scale_factor": round(self.scale_factor, 9),
            "vertical_datum": self.vertical_datum,
        }

    def save(self, path: str) -> None:
        """Write the twin to ``path`` as an uncompressed ``.npz`` file.

        The caller is responsible for atomic replacement; see
        :func:`twin_gym.terrain.cache.write_atomic`.
        """
        header = {
            "transform": list(self.transform)[:6],
            "crs_wkt": self.crs_wkt,
            "origin_xy": list(self.origin_xy),
            "anchor_lonlat": list(self.anchor_lonlat),
            "convergence_deg": self.convergence_deg,
            "scale_factor": self.scale_factor,
            "vertical_datum": self.vertical_datum,
            "metadata": self.metadata,
        }
        with open(path, "wb") as stream:
            np.savez(
                stream,
                heights=self.heights,
                valid=self.valid,
                classes=self.classes,
                structure_heights=self.structure_heights,
                header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
            )

    @classmethod
    def load(cls, path: str, mmap: bool = False) -> TerrainTwin:
        """Read a twin that :meth:`save` wrote.

        Args:
            path: The ``.npz`` file.
            mmap: Map the arrays from the file copy-on-write instead of
                reading them, so a large twin loads at once and its pages are
                read on first use. Writes to the arrays stay in memory.

        Raises:
            ValueError, KeyError, OSError, zipfile.BadZipFile: The file is not
                a complete twin file.
        """
        if mmap:
            data = _map_npz(path)
            return cls._from_arrays(data, json.loads(data["header"].tobytes().decode()))
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(data["header"].tobytes().decode())
            return cls._from_arrays(data, header)

    @classmethod
    def _from_arrays(cls, data, header: dict[str, Any]) -> TerrainTwin:
        return cls(
            heights=data["heights"],
            valid=data["valid"],
            classes=data["classes"],
            transform=Affine(*header["transform"]),
            crs_wkt=header["crs_wkt"],
            origin_xy=tuple(header["origin_xy"]),
            anchor_lonlat=tuple(header["anchor_lonlat"]),
            convergence_deg=header["convergence_deg"],
            scale_factor=header["scale_factor"],
            vertical_datum=header["vertical_datum"],
            metadata=header["metadata"],
            structure_heights=data["structure_heights"],
        )


def _map_npz(path: str) -> dict[str, np.ndarray]:
    """Map every member of an uncompressed ``.npz`` file copy-on-write.

    Raises:
        ValueError: A member is compressed or its data runs past the file's
            end (a truncated file).
    """
    size = os.path.getsize(path)
    arrays = {}
    with zipfile.ZipFile(path) as archive, open(path, "rb") as stream:
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"{path}: member {info.filename} is compressed")
            # The local file header is 30 bytes plus the name and extra field,
            # whose lengths it stores at bytes 26 to 29.
            stream.seek(info.header_offset)
            local_header = stream.read(30)
            if len(local_header) != 30:
                raise ValueError(f"{path} is truncated in member {info.filename}")
            name_length, extra_length = struct.unpack("<HH", local_header[26:30])
            stream.seek(info.header_offset + 30 + name_length + extra_length)
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(
                    stream
                )
            else:
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(
                    stream
                )
            offset = stream.tell()
            nbytes = int(np.prod(shape)) * dtype.itemsize
            if offset + nbytes > size:
                raise ValueError(f"{path} is truncated in member {info.filename}")
            mapped = np.memmap(
                path,
                dtype=dtype,
                mode="c",
                offset=offset,
                shape=shape,
                order="F" if fortran_order else "C",
            )
            arrays[info.filename.removesuffix(".npy")] = mapped.view(np.ndarray)
    return arrays


def ground_classes(valid: np.ndarray) -> np.ndarray:
    """Return the class grid of bare terrain: ground where valid, else no-data."""
    classes = np.full(valid.shape, SurfaceClass.GROUND, dtype=np.uint8)
    classes[~valid] = SurfaceClass.NO_DATA
    return classes
