"""Read subscriber files (CSV or YAML) into records ready for the store.

Columns / keys: ``msisdn`` and ``puk1`` (required); ``client_ref``, ``client_kind``
(individual | legal_entity | sole_proprietor), ``client_name``, ``lang`` (ru | en);
for the account front door, optionally: ``account`` (the client's account number),
``identity`` (passport number, 7 digits, for individuals; UNP, 9 digits, otherwise),
``email``, ``contact_msisdn``, ``activity`` (craft | self_employed), ``subscription_fee``,
``puk_registration`` (yes/no) and ``role`` (administrator | supervisor).
A subscriber without a client gets a client of its own (an individual). PUK1 values are
keyed-hashed here and appear in no error message.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from state.credentials import Pepper, identity_digest
from state.errors import InvalidMsisdn, SubscriberImportError
from state.models import BUSINESS_KINDS, Activity, ClientKind, Role
from state.msisdn import normalize_msisdn
from state.store import SubscriberRecord

_PUK = re.compile(r"[0-9]{8}")
LANGUAGES = ("ru", "en")


def read_subscriber_file(path: Path, pepper: Pepper) -> list[SubscriberRecord]:
    """Parse ``path`` (``.csv``, ``.yaml``/``.yml``) into records.

    Raises:
        SubscriberImportError: naming the file, the record and the reason.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SubscriberImportError(str(path), f"cannot read: {exc.__class__.__name__}") from exc
    if path.suffix.lower() == ".csv":
        rows: Iterable[tuple[str, Any]] = (
            (f"{path}:{i}", row) for i, row in enumerate(csv.DictReader(io.StringIO(text)), start=2)
        )
    elif path.suffix.lower() in (".yaml", ".yml"):
        rows = _yaml_rows(text, str(path))
    else:
        raise SubscriberImportError(str(path), "use a .csv or .yaml file")
    records = [to_record(where, row, pepper) for where, row in rows]
    seen: set[str] = set()
    for rec in records:
        if rec.msisdn in seen:
            raise SubscriberImportError(str(path), f"{rec.msisdn} appears twice")
        seen.add(rec.msisdn)
    return records


def _yaml_rows(text: str, file: str) -> list[tuple[str, Any]]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SubscriberImportError(file, "not valid YAML") from exc
    if isinstance(doc, Mapping):
        doc = doc.get("subscribers")
    if not isinstance(doc, list):
        raise SubscriberImportError(file, "expected a list of subscribers")
    return [(f"{file}: subscriber {i}", row) for i, row in enumerate(doc, start=1)]


def to_record(where: str, row: Any, pepper: Pepper) -> SubscriberRecord:
    """Validate one row and hash its PUK1."""
    if not isinstance(row, Mapping):
        raise SubscriberImportError(where, "expected a mapping of fields")
    try:
        msisdn = normalize_msisdn(str(row.get("msisdn") or ""))
    except InvalidMsisdn as exc:
        raise SubscriberImportError(where, f"msisdn: {exc}") from None
    puk = str(row.get("puk1") or "").strip()
    if not _PUK.fullmatch(puk):
        raise SubscriberImportError(where, "puk1 must be 8 digits")
    kind_text = str(row.get("client_kind") or ClientKind.INDIVIDUAL)
    try:
        kind = ClientKind(kind_text)
    except ValueError:
        kinds = ", ".join(k.value for k in ClientKind)
        raise SubscriberImportError(where, f"client_kind must be one of {kinds}") from None
    lang = str(row.get("lang") or "ru")
    if lang not in LANGUAGES:
        raise SubscriberImportError(where, "lang must be ru or en")
    ref = str(row.get("client_ref") or f"msisdn:{msisdn}")
    name = str(row.get("client_name") or ref)
    return SubscriberRecord(
        msisdn,
        pepper.digest(puk),
        ref,
        kind,
        name,
        lang,
        account=_optional(row, "account", _ACCOUNT, where, "account must be 6 to 20 digits"),
        identity_digest=_identity(row, kind, pepper, where),
        email=_optional(row, "email", _EMAIL, where, "email is not an e-mail address"),
        contact_msisdn=_contact(row, where),
        activity=_choice(row, "activity", Activity, where),
        subscription_fee=_yes_no(row, "subscription_fee", where),
        puk_registration=_yes_no(row, "puk_registration", where),
        role=_choice(row, "role", Role, where),
    )


_ACCOUNT = re.compile(r"[0-9]{6,20}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}")
_YES = {"yes", "true", "1", "да"}
_NO = {"no", "false", "0", "нет"}
E = TypeVar("E", Activity, Role)


def _text(row: Mapping[str, Any], key: str) -> str | None:
    value = row.get(key)
    if value is None or value == "":
        return None
    return str(value).strip()


def _optional(
    row: Mapping[str, Any], key: str, pattern: re.Pattern[str], where: str, problem: str
) -> str | None:
    value = _text(row, key)
    if value is not None and not pattern.fullmatch(value):
        raise SubscriberImportError(where, problem)
    return value


def _identity(row: Mapping[str, Any], kind: ClientKind, pepper: Pepper, where: str) -> bytes | None:
    value = _text(row, "identity")
    if value is None:
        return None
    digits = 9 if kind in BUSINESS_KINDS else 7
    if not (value.isascii() and value.isdigit() and len(value) == digits):
        what = "UNP" if digits == 9 else "passport number"
        raise SubscriberImportError(where, f"identity must be the {what} ({digits} digits)")
    return identity_digest(pepper, value)


def _contact(row: Mapping[str, Any], where: str) -> str | None:
    value = _text(row, "contact_msisdn")
    if value is None:
        return None
    try:
        return normalize_msisdn(value)
    except InvalidMsisdn as exc:
        raise SubscriberImportError(where, f"contact_msisdn: {exc}") from None


def _choice(row: Mapping[str, Any], key: str, kind: type[E], where: str) -> E | None:
    value = _text(row, key)
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(k.value for k in kind)
        raise SubscriberImportError(where, f"{key} must be one of {allowed}") from None


def _yes_no(row: Mapping[str, Any], key: str, where: str) -> bool | None:
    value = row.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise SubscriberImportError(where, f"{key} must be yes or no")
