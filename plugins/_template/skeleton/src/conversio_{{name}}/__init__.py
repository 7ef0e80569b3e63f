"""conversio-{{name}}: a conversio plugin. The hooks are in :mod:`conversio_{{name}}.plugin`."""
