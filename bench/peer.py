"""A partner for the benchmarks, in a process of its own (so its CPU is counted apart from the load generator's):
`python bench/peer.py dashboard|smtp`.

It plays the fault suite's peers (faults/peers.py's SentraTech dashboard, tests/support/smtp.py's SMTP
server), prints its port on the first line of its output, then reads modes from its input, one a line:
`ok` answers at once, `fail` refuses (the dashboard answers 503, SMTP 451 to DATA), `hang` answers only
after HANG_SECONDS. bench/harness.py's `Peer` drives it.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faults.peers import DashboardPeer  # noqa: E402
from tests.support.smtp import SmtpServer  # noqa: E402

HANG_SECONDS = 30.0


class _Forgetful(SmtpServer):
    """Counts the mail it accepts without keeping every message (a backlog of thousands)."""

    def keep(self, mail) -> None:
        self.ledger.record("mail")


def main(kind: str) -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    peer = DashboardPeer(HANG_SECONDS) if kind == "dashboard" else _Forgetful(hang_seconds=HANG_SECONDS)
    peer.start()
    port = peer.server.server_port if kind == "dashboard" else peer.port
    print(port, flush=True)
    for line in sys.stdin:
        peer.set(line.strip())
    peer.stop()


if __name__ == "__main__":
    main(sys.argv[1])
