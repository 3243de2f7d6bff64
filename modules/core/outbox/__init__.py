"""Durable outbound work, delivered at least once: the outbox's API for domains and operators.

- Adding (`writing.py`): `add(kind, payload, subject_id)` in the same transaction as the record;
  `add_many` for many at once; on PostgreSQL, `store_prepared` runs one statement that inserts a record and
  (through `insert_messages_sql`) its messages in autocommit, then asks for a drain.
- Delivering (`handlers.py`, `delivery.py`): a domain declares `@handler(kind, backoff, on_dead)` in its
  `jobs.py`; workers' drains deliver after the commit; handlers raise `Retryable`, `Permanent` or
  `Deferred`.
- Sweeping (`sweeping.py`): the periodic `sweep` re-enqueues due messages nobody holds.
- Controlling (`destinations.py`, `control.py`, `policy.py`): each kind's destination, with its pause switch
  and circuit breaker; each kind's backoff (a setting may override it), jitter and Retry-After.
- Alerting (`alerts.py`, imported by the app and /health, not here: it sends through `modules.core.mail`,
  which builds on this package): the periodic `check` e-mails ADMIN_EMAIL a digest about a destination in
  trouble (breaker open, messages dead, an old backlog), at most once per window; `unsent()` for /health.
- Asking (`admin.py`): `stats`, `messages`, `counts`, `pending_for`, `messages_of`, `get`, `backlog`,
  `trace` and `traced` (a subject's or a message's attempts), `kinds` (each kind's policy and state).
- Listing (`listing.py`): `Filter` (destination, kind, status, time range, subject, idempotency key),
  `newest` (a keyset page, newest first, with the next page's cursor), `every` (all of them, for exports).
- Replaying and purging by a filter (`replaying.py`): `Selection`, `preview`, `replay`, `purge_dead`.
- Retention (`retention.py`): the periodic `purge_delivered` deletes delivered messages past
  OUTBOX_RETENTION_DAYS.

Domains use these names only, never the outbox's tables. RQ jobs queued under the old module path
(`modules.core.outbox.drain`, `.deliver`, `.sweep`) still resolve here.
"""

from modules.core.outbox import control, destinations, listing, policy
from modules.core.outbox.admin import (
    backlog,
    counts,
    get,
    kinds,
    messages,
    messages_of,
    pending_for,
    stats,
    trace,
    traced,
)
from modules.core.outbox.delivery import deliver, drain, queue_drain
from modules.core.outbox.handlers import (
    DEFAULT_BACKOFF,
    Deferred,
    DeliveryError,
    Message,
    Permanent,
    Retryable,
    Status,
    handler,
)
from modules.core.outbox.replaying import Selection, preview, purge_dead, replay
from modules.core.outbox.retention import expired_count, purge_delivered
from modules.core.outbox.sweeping import sweep
from modules.core.outbox.writing import add, add_many, insert_messages_sql, store_prepared

__all__ = [
    "DEFAULT_BACKOFF", "Deferred", "DeliveryError", "Message", "Permanent", "Retryable", "Selection", "Status", "add",
    "add_many", "backlog", "control", "counts", "deliver", "destinations", "drain", "expired_count", "get",
    "handler", "insert_messages_sql", "kinds", "listing", "messages", "messages_of", "pending_for", "policy", "preview",
    "purge_dead", "purge_delivered", "queue_drain", "replay", "stats", "store_prepared", "sweep", "trace", "traced",
]
