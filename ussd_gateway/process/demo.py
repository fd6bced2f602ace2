"""Demo subscribers for ``make run``: one of each situation worth dialling.

The PUK1 values are printed at start so a tester can type them; they are demo data in
a demo database, hashed like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from importlib.resources import files
from pathlib import Path

from account.operator import AccountService
from state.credentials import Pepper, identity_digest
from state.models import Channel, ClientKind, ClosedBy, Role
from state.store import Store, SubscriberRecord
from ussd_gateway.config import BackendSettings, Secret, Settings

DEMO_BILLING_TOKEN = "demo-billing-token"  # noqa: S105 - the simulator's demo default
"""The billing simulator's default credential (``ussd-billing serve``): demo data only."""


SELF_SERVICE_TRIES = (
    ("375291000001", "12.50 BYN prepaid: connect a service, see it pending"),
    ("375331000002", "English, 3.20 BYN: too little for a 5.00 BYN service"),
    ("375441000003", "suspended: every request refused"),
    ("375251000004", "contract: connects whatever the balance"),
)
"""What ``*100#`` shows for whom, with the billing simulator's demo data."""


def examples_path() -> Path:
    """The worked example menus shipped beside the menus (``menus/examples``)."""
    return Path(str(files("menus") / "examples"))


def with_billing(settings: Settings, url: str) -> Settings:
    """``settings`` with the billing simulator at ``url`` as back-end ``billing`` and the
    worked self-service menu beside the configured (or shipped) menus."""
    shipped = Path(str(files("menus")))
    billing = BackendSettings(url=url.rstrip("/"), token=Secret(DEMO_BILLING_TOKEN))
    return replace(
        settings,
        menu_paths=(*(settings.menu_paths or (shipped,)), examples_path()),
        backends={**settings.backends, "billing": billing},
    )


@dataclass(frozen=True)
class DemoSubscriber:
    """A demo row: number, PUK1, language, client, and how access starts."""

    msisdn: str
    puk1: str
    lang: str
    client_kind: ClientKind
    client_name: str
    closed_by: ClosedBy | None
    note: str
    client_ref: str | None = None
    account: str | None = None
    identity: str | None = None
    """Passport number (individuals) or UNP (businesses): the first account-number password."""
    email: str | None = None
    contact: bool = False
    """This subscriber is its client's contact number (e-mail login's M-codes go here)."""
    puk_registration: bool = False
    role: Role | None = None


DEMO_SUBSCRIBERS = (
    DemoSubscriber(
        "375291000001",
        "40718263",
        "ru",
        ClientKind.INDIVIDUAL,
        "Иван Петров",
        None,
        "access open: close it, set a password",
    ),
    DemoSubscriber(
        "375331000002", "59263148", "en", ClientKind.INDIVIDUAL, "Anna Smith", None, "English menus"
    ),
    DemoSubscriber(
        "375441000003",
        "73019462",
        "ru",
        ClientKind.INDIVIDUAL,
        "Ольга Ким",
        ClosedBy.SUBSCRIBER,
        "closed by the subscriber: reopen with PUK1",
    ),
    DemoSubscriber(
        "375251000004",
        "18364027",
        "ru",
        ClientKind.LEGAL_ENTITY,
        "ООО «Ромашка»",
        ClosedBy.ORGANISATION,
        "closed by the organisation: not reopenable here",
    ),
    DemoSubscriber(
        "375291000005",
        "62840193",
        "ru",
        ClientKind.INDIVIDUAL,
        "Павел Орлов",
        ClosedBy.OPERATOR,
        "closed by the operator: call 150",
    ),
    DemoSubscriber(
        "375291000006",
        "30571846",
        "ru",
        ClientKind.LEGAL_ENTITY,
        "ООО «Василёк»",
        None,
        "company administrator: account 300012345, UNP 191234567, it@vasilek.example.by",
        client_ref="demo:vasilek",
        account="300012345",
        identity="191234567",
        email="it@vasilek.example.by",
        contact=True,
        role=Role.ADMINISTRATOR,
    ),
    DemoSubscriber(
        "375291000007",
        "84620317",
        "ru",
        ClientKind.LEGAL_ENTITY,
        "ООО «Василёк»",
        None,
        "company staff, with registration by PUK1",
        client_ref="demo:vasilek",
        puk_registration=True,
    ),
)


async def seed_demo(store: Store, pepper: Pepper) -> bool:
    """Create the demo subscribers once; returns whether they were created now."""
    if await store.get_subscriber(DEMO_SUBSCRIBERS[0].msisdn) is not None:
        return False
    contacts = {d.client_ref: d.msisdn for d in DEMO_SUBSCRIBERS if d.contact}
    records = [
        SubscriberRecord(
            d.msisdn,
            pepper.digest(d.puk1),
            d.client_ref or f"demo:{d.msisdn}",
            d.client_kind,
            d.client_name,
            d.lang,
            account=d.account,
            identity_digest=identity_digest(pepper, d.identity) if d.identity else None,
            email=d.email,
            contact_msisdn=contacts.get(d.client_ref),
            puk_registration=d.puk_registration or None,
            role=d.role,
        )
        for d in DEMO_SUBSCRIBERS
    ]
    await store.import_subscribers(records)
    service = AccountService(store)
    for d in DEMO_SUBSCRIBERS:
        if d.closed_by is not None:
            await service.close_access(
                d.msisdn, by=d.closed_by, actor="demo", channel=Channel.CLI, reason="demo data"
            )
    return True


def demo_table() -> str:
    """The demo subscribers as a table for the console."""
    rows = [f"  {'MSISDN':<14}{'PUK1':<10}{'lang':<6}situation"]
    rows += [f"  {d.msisdn:<14}{d.puk1:<10}{d.lang:<6}{d.note}" for d in DEMO_SUBSCRIBERS]
    return "\n".join(rows)
