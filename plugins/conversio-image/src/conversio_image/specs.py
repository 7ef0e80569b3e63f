"""Every converter and operation of conversio-image, as ConverterSpecs (no engine imported)."""

from __future__ import annotations

from conversio.converters import Cardinality, ConverterSpec
from conversio_image.catalogue import FORMATS, RASTER_SOURCES, SVG_TARGETS, WRITABLE
from conversio_image.schemas import OPERATIONS, conversion_schema, operation_schema, svg_schema

ENGINE = "image.pillow"
SVG_ENGINE = "image.resvg"
LOSSLESS_COST = 1.0
#: Lossy targets cost a little more, so that a route never passes through a
#: lossy format when a lossless one does the same job.
LOSSY_COST = 1.5


def _cost(target: str) -> float:
    return LOSSY_COST if FORMATS[target].lossy else LOSSLESS_COST


def conversion_specs() -> list[ConverterSpec]:
    """Raster → raster for every pair; TIFF pages become one file each."""
    specs = []
    for source in RASTER_SOURCES:
        for target in WRITABLE:
            if source == target:
                continue
            split = FORMATS[source].pages and not FORMATS[target].pages
            specs.append(
                ConverterSpec(
                    id=f"{ENGINE}:{source}->{target}",
                    source=source,
                    target=target,
                    run="conversio_image.convert:convert_pages"
                    if split
                    else "conversio_image.convert:convert",
                    cardinality=Cardinality.ONE_TO_MANY if split else Cardinality.ONE_TO_ONE,
                    cost=_cost(target),
                    lossy=FORMATS[target].lossy,
                    options=conversion_schema(source, target),
                    description=(
                        f"{source} to {target}, one file per page" if split else f"{source} to {target}"
                    ),
                )
            )
    return specs


def svg_specs() -> list[ConverterSpec]:
    """SVG rendered (without any external resource) to a few raster formats."""
    return [
        ConverterSpec(
            id=f"{SVG_ENGINE}:svg->{target}",
            source="svg",
            target=target,
            run="conversio_image.convert:render_svg",
            cost=_cost(target),
            lossy=True,
            options=svg_schema(target),
            description=f"SVG rendered to {target} with resvg; external files and URLs are never loaded",
        )
        for target in SVG_TARGETS
    ]


_OPERATION_HELP = {
    "resize": "scale to width and/or height",
    "rotate": "turn clockwise by any angle",
    "crop": "keep a rectangle",
    "thumbnail": "shrink to fit a square, keeping the aspect",
}


def operation_specs() -> list[ConverterSpec]:
    """resize, rotate, crop and thumbnail for every writable format (every frame and page)."""
    return [
        ConverterSpec(
            id=f"{ENGINE}:{operation}({fmt})",
            source=fmt,
            target=fmt,
            run=f"conversio_image.convert:{operation}",
            operation=operation,
            lossy=FORMATS[fmt].lossy,
            options=operation_schema(operation, fmt),
            description=f"{_OPERATION_HELP[operation]} ({fmt})",
        )
        for operation in OPERATIONS
        for fmt in WRITABLE
    ]


def all_specs() -> list[ConverterSpec]:
    return [*conversion_specs(), *svg_specs(), *operation_specs()]
