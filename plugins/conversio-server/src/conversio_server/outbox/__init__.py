"""The webhook outbox: deliveries persisted in the server's database, sent by dispatchers with retries.

Jobs code calls :meth:`Outbox.enqueue` (in the same process or another one); a
:class:`Dispatcher` (a thread and a bounded pool, one or more per database, in any process)
claims due deliveries, signs them (:func:`conversio.webhooks.sign_webhook`, with the key's
secret at the time of sending) and POSTs them through the SSRF-safe
:class:`~conversio_server.outbound.OutboundClient`.

Guarantees and rules:

* At least once. A delivery is claimed with a lease (an atomic conditional ``UPDATE``), so two
  dispatchers never send it at the same time; a dispatcher that dies mid-send leaves a lease
  that expires, and the delivery is sent again, with the same ``webhook-id``.
* A ``2xx`` answer delivers. ``410 Gone`` disables the endpoint (the key's URL): that delivery
  and every pending or later one to it are marked ``disabled`` and never sent, until
  :meth:`Outbox.enable_endpoint`. A URL the outbound policy refuses (a private address, …)
  fails at once, without a connection and without retries. Anything else (another status, a
  timeout, a refused connection) is retried on the :class:`RetrySchedule`, and after the
  last attempt the delivery is ``failed``.
* Every attempt is recorded (when, how long, the status or error) and shown by
  :meth:`Outbox.deliveries_for`. Deliveries are not ordered: a receiver orders events by
  their ``timestamp`` and deduplicates them by ``webhook-id``.

The modules: ``records`` (states and value objects), ``tables`` (SQL), ``store`` (the
:class:`Outbox`), ``schedule`` (the :class:`RetrySchedule`), ``sending`` (one attempt and the
webhook outbound policy), ``dispatcher`` (the :class:`Dispatcher`) and ``metrics``.
"""

from conversio_server.outbox.dispatcher import Dispatcher, SecretLookup
from conversio_server.outbox.metrics import WebhookMetrics, register_webhook_metrics
from conversio_server.outbox.records import Attempt, Claim, Delivery, DeliveryStatus, Outcome, Upload
from conversio_server.outbox.schedule import DEFAULT_RETRY_DELAYS, RetrySchedule
from conversio_server.outbox.sending import webhook_policy
from conversio_server.outbox.store import Outbox

__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "Attempt",
    "Claim",
    "Delivery",
    "DeliveryStatus",
    "Dispatcher",
    "Outbox",
    "Outcome",
    "RetrySchedule",
    "SecretLookup",
    "Upload",
    "WebhookMetrics",
    "register_webhook_metrics",
    "webhook_policy",
]
