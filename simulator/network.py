"""The IP space the simulated accounts send from.

In: the seed. Out: an ``IPWorld`` (the /16 and /24 bases of each kind of network:
residential per country, cloud, datacenter proxy, VPN, NAT, carrier CGNAT), and
``residential``, which gives accounts a home address in their country's residential space.

Each kind of network has first octets of its own, so a /24 is the same kind of network
wherever it appears and linking never sees a proxy /24 that is also a home ISP's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator import assets as A


@dataclass(frozen=True)
class IPWorld:
    """/16 and /24 bases (as uint32) of each kind of network."""

    residential: np.ndarray  # (n_countries, 4) /16 bases
    cloud: np.ndarray  # /24 bases of cloud providers
    proxy: np.ndarray  # /24 bases of datacenter proxy providers
    vpn: np.ndarray  # /24 bases of one popular VPN's exits
    nat: np.ndarray  # /24 bases of university and mobile-carrier NAT
    cgnat: np.ndarray  # /24 bases of mobile carriers' CGNAT (drawn last: older draws unchanged)


def _bases24(rng: np.random.Generator, firsts: list[int], n: int) -> np.ndarray:
    a = rng.choice(np.array(firsts, dtype=np.int64), n)
    b = rng.integers(0, 256, n)
    c = rng.integers(0, 256, n)
    return np.unique((a << 24) | (b << 16) | (c << 8))


_RESIDENTIAL_FIRSTS = np.array([24, 50, 67, 68, 71, 73, 76, 77, 79, 81, 82, 84, 86, 88, 90, 92,
                                95, 98, 99, 109, 112, 115, 118, 121, 122, 124, 151, 177, 179,
                                186, 187, 189, 190, 200, 201])


def build_ip_world(seed: int) -> IPWorld:
    """Disjoint first octets per kind, so a /24 means the same kind of network everywhere."""
    rng = np.random.default_rng([seed, 999])
    n_c = len(A.COUNTRIES)
    a = rng.choice(_RESIDENTIAL_FIRSTS, (n_c, 4))
    b = rng.integers(0, 256, (n_c, 4))
    return IPWorld(
        residential=(a << 24) | (b << 16),
        cloud=_bases24(rng, [3, 13, 18, 20, 34, 35, 52, 54, 104, 143], 400),
        proxy=_bases24(rng, [45, 89, 91, 146, 185, 193, 194, 212], 400),
        vpn=_bases24(rng, [138, 156], 14),
        nat=_bases24(rng, [128, 129, 130, 131, 141, 172, 174], 24),
        cgnat=_bases24(rng, [39, 41, 102, 105, 117], 16),
    )


def residential(acc: dict[str, np.ndarray], rng: np.random.Generator, world: IPWorld) -> None:
    """Give every account of ``acc`` a home address in one of its country's residential
    /16s; 7% of them send over IPv6 when they are at home."""
    n = len(acc["pop"])
    block = world.residential[acc["country"], rng.integers(0, 4, n)]
    acc["ip_kind"][:] = 0
    acc["ip_base"] = block
    acc["ip_hosts"] = np.full(n, 65536, dtype=np.int64)
    acc["home_ip"] = block + rng.integers(256, 65280, n)
    acc["v6"] = np.where(rng.random(n) < 0.07, rng.integers(1, 10**12, n), 0)
