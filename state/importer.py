"""Read subscriber files (CSV or YAML) into records ready for the store.

Columns / keys: ``msisdn`` and ``puk1`` (required); ``client_ref``, ``client_kind``
(individual | legal_entity | sole_proprietor), ``client_name``, ``lang`` (ru | en);
for the account front door, optionally: ``account`` (the client's account number),
``identity`` (passport number, 7 digits, for individuals; UNP, 9 digits, otherwise),
``email``, ``contact_msisdn``, ``activity`` (craft | self_employed), ``subscription_fee``,
``puk_registration`` (yes/no) and ``role`` (administrator | supervisor).
A subscriber without a client gets a client of its own (an individual). PUK1 values are
keyed-hashed here and appear in no error message.

Any other column or key is an error, and every error names its place: ``file:line`` (the
CSV's line; the line a YAML item starts on, and its position in the list). A CSV's
delimiter is ``,``, ``;`` or tab, detected, or given.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
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


COLUMNS = (
    "msisdn",
    "puk1",
    "client_ref",
    "client_kind",
    "client_name",
    "lang",
    "account",
    "identity",
    "email",
    "contact_msisdn",
    "activity",
    "subscription_fee",
    "puk_registration",
    "role",
)
"""Every column (CSV) or key (YAML) a subscriber file may have; any other is an error."""
DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t"}
"""Names a CSV delimiter may be given by (besides the character itself)."""
_DETECTED = ",;\t"
_SAMPLE = 64 * 1024


def read_subscriber_file(
    path: Path, pepper: Pepper, delimiter: str | None = None
) -> list[SubscriberRecord]:
    """Parse ``path`` (``.csv``, ``.yaml``/``.yml``) into records.

    A CSV's ``delimiter`` is detected among ``,``, ``;`` and tab unless given. Each record's
    ``origin`` says where it was read (``file:line``), for errors found later too.

    Raises:
        SubscriberImportError: naming the file and line, and the reason (never a PUK1).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SubscriberImportError(str(path), f"cannot read: {exc.__class__.__name__}") from exc
    if path.suffix.lower() == ".csv":
        rows: Iterable[tuple[str, Any]] = _csv_rows(text, str(path), delimiter)
    elif path.suffix.lower() in (".yaml", ".yml"):
        if delimiter is not None:
            raise SubscriberImportError(str(path), "a delimiter is for CSV files only")
        rows = _yaml_rows(text, str(path))
    else:
        raise SubscriberImportError(str(path), "use a .csv or .yaml file")
    records: list[SubscriberRecord] = []
    first: dict[str, str] = {}
    for where, row in rows:
        rec = to_record(where, row, pepper)
        if rec.msisdn in first:
            raise SubscriberImportError(
                where, f"{rec.msisdn} appears twice (first at {first[rec.msisdn]})"
            )
        first[rec.msisdn] = where
        records.append(rec)
    return records


def detect_delimiter(text: str) -> str:
    """The CSV's delimiter among ``,``, ``;`` and tab: the one that splits the header line
    into columns including ``msisdn``; if that does not tell, :class:`csv.Sniffer`'s guess
    from the first lines; a comma if neither does."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    fitting = [
        d for d in _DETECTED if "msisdn" in (part.strip().strip('"') for part in header.split(d))
    ]
    if len(fitting) == 1:
        return fitting[0]
    try:
        return csv.Sniffer().sniff(text[:_SAMPLE], delimiters=_DETECTED).delimiter
    except csv.Error:
        return ","


def _csv_rows(text: str, file: str, delimiter: str | None) -> Iterator[tuple[str, Any]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter or detect_delimiter(text))
    header: list[str] | None = None
    try:
        for fields in reader:
            where = f"{file}:{reader.line_num}"
            if not any(value.strip() for value in fields):
                continue  # a blank line
            if header is None:
                header = _header(where, fields)
                continue
            if len(fields) > len(header):
                raise SubscriberImportError(
                    where, f"{len(fields)} values for {len(header)} columns"
                )
            yield where, dict(zip(header, fields, strict=False))
    except csv.Error:
        raise SubscriberImportError(f"{file}:{reader.line_num}", "not valid CSV") from None
    if header is None:
        raise SubscriberImportError(file, "empty: expected a header line (msisdn,puk1,…)")


def _header(where: str, fields: list[str]) -> list[str]:
    names = [name.strip() for name in fields]
    for name in names:
        _known(where, name, "column")
    for name in ("msisdn", "puk1"):
        if name not in names:
            raise SubscriberImportError(where, f"no {name} column")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise SubscriberImportError(where, f"column {twice[0]!r} appears twice")
    return names


def _known(where: str, name: object, what: str) -> None:
    if name in COLUMNS:
        return
    if name == "":
        raise SubscriberImportError(where, f"a {what} without a name (a delimiter too many?)")
    raise SubscriberImportError(
        where, f"unknown {what} {str(name)!r} (known: {', '.join(COLUMNS)})"
    )


def _yaml_rows(text: str, file: str) -> list[tuple[str, Any]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}" if mark is not None else file
        raise SubscriberImportError(where, "not valid YAML") from None
    if isinstance(doc, Mapping) and isinstance(node, yaml.MappingNode):
        items: Any = None
        for key, value in node.value:
            if key.value != "subscribers":
                where = f"{file}:{key.start_mark.line + 1}"
                raise SubscriberImportError(where, f"unknown key {key.value!r} (subscribers:)")
            items = value
        node, doc = items, doc.get("subscribers")
    if not isinstance(doc, list) or not isinstance(node, yaml.SequenceNode):
        raise SubscriberImportError(file, "expected a list of subscribers")
    return [
        (f"{file}:{item.start_mark.line + 1}: subscriber {i}", row)
        for i, (item, row) in enumerate(zip(node.value, doc, strict=True), start=1)
    ]


def to_record(where: str, row: Any, pepper: Pepper) -> SubscriberRecord:
    """Validate one row and hash its PUK1."""
    if not isinstance(row, Mapping):
        raise SubscriberImportError(where, "expected a mapping of fields")
    for key in row:
        _known(where, key, "field")
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
        origin=where,
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
