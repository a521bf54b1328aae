"""Deterministic little directory for the TUI tests: one zone, a few networks, members with hostile names."""

from __future__ import annotations

from bin_console.data.keys import fold
from bin_console.data.models import Member, Network, NetworkStreet, PoliceZone
from bin_console.data.search_index import rebuild_terms

HOSTILE = ["[bold red]Jan[/]", "Peeters [/]", "Jan\x1b]0;PWNED\x07"]


def seed(db, *, members: int = 12, big: int = 0) -> dict[str, int]:
    """Returns name -> network id. `big` adds that many members to BIN Kerkwijk (paging tests)."""
    ids: dict[str, int] = {}
    with db.write() as s:
        zone = PoliceZone(code="5415", name="Gent")
        s.add(zone)
        s.flush()
        nets = [
            ("Kerkwijk", "BIN", "Gent", [("Kerkstraat", "9000"), ("Kerkwijkstraat", "9000")]),
            ("Zuid Industrie", "ZBIN", "Gent", [("Industrieweg", "9050")]),
            ("Mariakerke Dorp", "BIN", "Mariakerke", [("Dorpsstraat", "9030")]),
            ("[bold red]Jan[/] wijk", "BIN", "Gent", [("Peeters [/]straat", "9000")]),
        ]
        for name, kind, muni, streets in nets:
            n = Network(zone_id=zone.id, name=name, name_key=fold(name), kind=kind, municipality=muni)
            s.add(n)
            s.flush()
            ids[name] = n.id
            for street, pc in streets:
                s.add(
                    NetworkStreet(
                        network_id=n.id, street=street, street_key=fold(street), postcode=pc, municipality=muni
                    )
                )
        kid = ids["Kerkwijk"]
        names = ["Anna Claes", "Bart De Smet", "Chris Janssens", "Dirk Maes", "Els Peeters", "Frank Wouters"]
        names += HOSTILE
        rows = [(n, i) for i, n in enumerate(names[:members])]
        rows += [(f"Lid {i:05d}", 100 + i) for i in range(big)]
        for name, i in rows:
            s.add(
                Member(
                    network_id=kid,
                    name=name,
                    name_key=fold(name),
                    mobile=f"+3247000{i:04d}",
                    street="Kerkstraat",
                    street_key=fold("Kerkstraat"),
                    house_number=str(i + 1),
                    postcode="9000",
                    municipality="Gent",
                    role="coordinator" if i == 0 else "member",
                )
            )
        s.flush()
        rebuild_terms(s, ids.values())
    return ids
