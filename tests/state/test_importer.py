"""Subscriber files: CSV and YAML, every spelling of a number, clear errors without PUKs."""

from __future__ import annotations

from pathlib import Path

import pytest

from state.credentials import Pepper
from state.errors import SubscriberImportError
from state.importer import read_subscriber_file
from state.models import ClientKind

PEPPER = Pepper(b"p" * 32)


def test_csv_with_spellings_and_defaults(tmp_path: Path) -> None:
    """Numbers normalise, the PUK1 is hashed, defaults fill the rest."""
    path = tmp_path / "subs.csv"
    path.write_text(
        "msisdn,puk1,client_ref,client_kind,client_name,lang\n"
        "+375 29 123-45-67,12345678,acme,legal_entity,ACME,en\n"
        "8 033 765 43 21,87654321,,,,\n",
        encoding="utf-8",
    )
    first, second = read_subscriber_file(path, PEPPER)
    assert (first.msisdn, first.client_kind, first.lang) == ("375291234567", ClientKind.LEGAL_ENTITY, "en")
    assert first.puk_digest == PEPPER.digest("12345678")
    assert (second.msisdn, second.client_ref, second.lang) == ("375337654321", "msisdn:375337654321", "ru")


def test_yaml_list(tmp_path: Path) -> None:
    """A YAML list (or a mapping with `subscribers`) imports the same way."""
    path = tmp_path / "subs.yaml"
    path.write_text("subscribers:\n  - {msisdn: '80441234567', puk1: '11223344'}\n", encoding="utf-8")
    (record,) = read_subscriber_file(path, PEPPER)
    assert record.msisdn == "375441234567"


@pytest.mark.parametrize(
    ("row", "fragment"),
    [
        ("+7 916 1234567,12345678", "msisdn"),
        ("375291234567,1234", "puk1 must be 8 digits"),
        ("375291234567,12345678,c,company,,", "client_kind"),
        ("375291234567,12345678,c,individual,,de", "lang"),
    ],
)
def test_bad_rows_name_the_line_and_never_the_puk(tmp_path: Path, row: str, fragment: str) -> None:
    """Errors point at file:line and the field; a PUK1 value never appears."""
    path = tmp_path / "bad.csv"
    path.write_text("msisdn,puk1,client_ref,client_kind,client_name,lang\n" + row + "\n",
                    encoding="utf-8")
    with pytest.raises(SubscriberImportError) as err:
        read_subscriber_file(path, PEPPER)
    assert f"{path}:2" in str(err.value) and fragment in str(err.value)
    assert "12345678" not in str(err.value) and "1234," not in str(err.value)


def test_duplicate_number_in_one_file(tmp_path: Path) -> None:
    """The same subscriber twice (in two spellings) is an error, not a silent overwrite."""
    path = tmp_path / "dup.csv"
    path.write_text("msisdn,puk1\n375291234567,12345678\n80291234567,87654321\n", encoding="utf-8")
    with pytest.raises(SubscriberImportError, match="twice"):
        read_subscriber_file(path, PEPPER)
