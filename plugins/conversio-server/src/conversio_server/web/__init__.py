"""The web page of ``conversio serve``: server-rendered pages whose ES modules talk to the public ``/v1``
API like any client (:mod:`.routes`), and the headers and cross-site guard that protect them
(:mod:`.security`)."""
