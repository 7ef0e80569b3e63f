"""Test helper run by the system Python (pyuno): load a document hidden, letting its macros run.

The control of test_office_macros.py: what a converter that does not disable macros does.
Usage: python3 uno_load_with_macros.py PIPE INPUT_URL
"""

from __future__ import annotations

import os
import sys

import uno  # type: ignore[import-not-found]

#: com.sun.star.document.MacroExecutionMode.ALWAYS_EXECUTE_NO_WARN
ALWAYS_EXECUTE_NO_WARN = 4


def prop(name: str, value: object) -> object:
    p = uno.createUnoStruct("com.sun.star.beans.PropertyValue")
    p.Name, p.Value = name, value
    return p


def main() -> None:
    pipe, source = sys.argv[1:3]
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    context = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
    desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
    settings = (prop("Hidden", True), prop("MacroExecutionMode", ALWAYS_EXECUTE_NO_WARN))
    desktop.loadComponentFromURL(source, "_blank", 0, settings).close(True)
    print("loaded")


if __name__ == "__main__":
    main()
    # pyuno can crash tearing down its bridge at interpreter exit (seen as SIGSEGV after the
    # work was done): leave without that teardown.
    sys.stdout.flush()
    os._exit(0)
