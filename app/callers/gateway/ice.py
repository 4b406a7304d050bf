"""Which of this machine's addresses the gateway offers phones for media (ICE host candidates).

aioice offers every address except loopback and has no setting for it, so the gateway
replaces its address lookup, once, for the whole process. A control room names the
address phones can reach (or a TURN server does the reaching); a test on a machine with
loopback alone offers 127.0.0.1 and keeps every packet on the machine.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import aioice.ice

log = logging.getLogger(__name__)

_library_lookup = aioice.ice.get_host_addresses


def offer_addresses(addresses: Sequence[str] | None) -> None:
    """Offer exactly `addresses` from now on; None goes back to aioice's own choice
    (every address but loopback)."""
    if addresses is None:
        aioice.ice.get_host_addresses = _library_lookup
        return
    chosen = list(addresses)

    def configured(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = configured
    log.info("gateway offers media on %s", ", ".join(chosen))
