"""``python -m conversio`` is the ``conversio`` command."""

from conversio.cli import main

main()
