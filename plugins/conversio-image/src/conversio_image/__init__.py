"""conversio-image: raster images, HEIC and SVG with Pillow, pillow-heif and resvg.

The hooks are in :mod:`conversio_image.plugin`; the converter functions in
:mod:`conversio_image.convert`.
"""

__version__ = "0.1.0"
