"""Hook implementations of the ``{{name}}`` plugin, and nothing else.

This module is imported whenever conversio starts, so it must stay cheap: it
declares converters by name (``run="module:function"``) and imports no engine.
The converter modules are imported the first time a conversion needs them.
"""

from __future__ import annotations

from conversio.converters import ConverterSpec
from conversio.hookspecs import hookimpl
from conversio.options import Option, OptionsSchema
from conversio.registry import ConverterRegistrar


@hookimpl
def register_converters(converters: ConverterRegistrar) -> None:
    converters.add(
        ConverterSpec(
            id="{{name}}.stdlib:csv->json",
            source="csv",
            target="json",
            run="conversio_{{name}}.csv_json:csv_to_json",
            cost=1.0,
            options=OptionsSchema.of(
                Option(
                    "delimiter",
                    "str",
                    default=",",
                    choices=(",", ";", "\t", "|"),
                    help="the character between cells",
                ),
            ),
            description="CSV rows as JSON objects keyed by the header row",
            install_hint="pip install conversio-{{name}}",
        )
    )
