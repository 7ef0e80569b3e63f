"""Test helper run by the system Python (pyuno): save a document with a password.

Usage: python3 uno_protect.py PIPE INPUT_URL OUTPUT_URL FILTER PASSWORD
"""

from __future__ import annotations

import sys

import uno  # type: ignore[import-not-found]


def prop(name: str, value: object) -> object:
    p = uno.createUnoStruct("com.sun.star.beans.PropertyValue")
    p.Name, p.Value = name, value
    return p


def main() -> None:
    pipe, source, target, filter_name, password = sys.argv[1:6]
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    context = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
    desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
    doc = desktop.loadComponentFromURL(source, "_blank", 0, (prop("Hidden", True),))
    try:
        doc.storeToURL(target, (prop("FilterName", filter_name), prop("Password", password)))
    finally:
        doc.close(True)


if __name__ == "__main__":
    main()
