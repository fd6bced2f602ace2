"""Subscriber files: CSV and YAML, every spelling of a number, clear errors without PUKs."""

from __future__ import annotations

import re
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


def test_account_columns(tmp_path: Path) -> None:
    """Account number, identity (hashed), e-mail, contact, activity, options and role."""
    path = tmp_path / "subs.csv"
    path.write_text(
        "msisdn,puk1,client_ref,client_kind,account,identity,email,contact_msisdn,activity,"
        "subscription_fee,puk_registration,role\n"
        "375291230001,51000001,acme,legal_entity,200012345,190234567,it@acme.by,8 029 123-00-01,,"
        "yes,no,administrator\n"
        "375297770001,51000005,ivan,individual,100054321,4417033,,,craft,,да,\n",
        encoding="utf-8",
    )
    pepper = Pepper.from_hex("5e" * 32)
    acme, ivan = read_subscriber_file(path, pepper)
    assert (acme.account, acme.email, acme.contact_msisdn) == ("200012345", "it@acme.by", "375291230001")
    assert acme.subscription_fee is True and acme.puk_registration is False and acme.role == "administrator"
    assert acme.identity_digest is not None and b"190234567" not in acme.identity_digest
    assert ivan.activity == "craft" and ivan.puk_registration is True and ivan.role is None
    assert ivan.subscription_fee is None  # absent: left as it is on update


@pytest.mark.parametrize(
    ("columns", "values", "fragment"),
    [
        ("client_kind,identity", "legal_entity,4417033", "UNP (9 digits)"),
        ("client_kind,identity", "individual,190234567", "passport number (7 digits)"),
        ("email", "not-an-address", "email"),
        ("activity", "farming", "activity must be one of"),
        ("role", "king", "role must be one of"),
        ("puk_registration", "maybe", "yes or no"),
    ],
)
def test_bad_account_columns(tmp_path: Path, columns: str, values: str, fragment: str) -> None:
    path = tmp_path / "subs.csv"
    path.write_text(f"msisdn,puk1,{columns}\n375291230001,51000001,{values}\n", encoding="utf-8")
    with pytest.raises(SubscriberImportError, match=re.escape(fragment)) as caught:
        read_subscriber_file(path, Pepper.from_hex("5e" * 32))
    assert "4417033" not in str(caught.value) and "190234567" not in str(caught.value)


def test_an_unknown_column_is_an_error_naming_it(tmp_path: Path) -> None:
    """A misspelt column is not silently ignored: the header line and the name are given."""
    path = tmp_path / "subs.csv"
    path.write_text("msisdn,puk1,client_nmae\n375291234567,12345678,ACME\n", encoding="utf-8")
    with pytest.raises(SubscriberImportError) as err:
        read_subscriber_file(path, PEPPER)
    assert err.value.where == f"{path}:1" and "unknown column 'client_nmae'" in err.value.reason


def test_an_unknown_yaml_key_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "subs.yaml"
    path.write_text(
        "subscribers:\n"
        "  - {msisdn: '80441234567', puk1: '11223344'}\n"
        "  - msisdn: '80441234568'\n"
        "    puk1: '11223345'\n"
        "    lnag: en\n",
        encoding="utf-8",
    )
    with pytest.raises(SubscriberImportError) as err:
        read_subscriber_file(path, PEPPER)
    assert err.value.where == f"{path}:3: subscriber 2" and "unknown field 'lnag'" in err.value.reason


def test_every_error_carries_its_line(tmp_path: Path) -> None:
    """CSV: the file's own line (blank lines and quoted line breaks counted); YAML: the line
    the item starts on and its position; a duplicate names both places."""
    path = tmp_path / "subs.csv"
    path.write_text(
        'msisdn,puk1,client_name\n375291234567,12345678,"Two\nlines"\n\n375291234568,1234,x\n',
        encoding="utf-8",
    )
    with pytest.raises(SubscriberImportError) as err:
        read_subscriber_file(path, PEPPER)
    assert err.value.where == f"{path}:5" and "puk1" in err.value.reason
    path.write_text("msisdn,puk1\n375291234567,12345678\n80291234567,87654321\n", encoding="utf-8")
    with pytest.raises(SubscriberImportError) as err:
        read_subscriber_file(path, PEPPER)
    assert err.value.where == f"{path}:3" and f"first at {path}:2" in err.value.reason
    path.write_text("msisdn,puk1\n375291234567,12345678,extra\n", encoding="utf-8")
    with pytest.raises(SubscriberImportError, match="3 values for 2 columns") as err:
        read_subscriber_file(path, PEPPER)
    assert err.value.where == f"{path}:2"
    yaml_path = tmp_path / "subs.yaml"
    yaml_path.write_text(
        "- {msisdn: '80441234567', puk1: '11223344'}\n\n- {msisdn: '80441234568', puk1: '1'}\n",
        encoding="utf-8",
    )
    with pytest.raises(SubscriberImportError) as err:
        read_subscriber_file(yaml_path, PEPPER)
    assert err.value.where == f"{yaml_path}:3: subscriber 2" and "puk1" in err.value.reason
    yaml_path.write_text("- {msisdn: '80441234567'\n  puk1: [\n", encoding="utf-8")
    with pytest.raises(SubscriberImportError, match="not valid YAML") as err:
        read_subscriber_file(yaml_path, PEPPER)
    assert err.value.where.startswith(f"{yaml_path}:")


def test_records_know_where_they_were_read(tmp_path: Path) -> None:
    """The origin travels with the record, for errors the store finds (a client change)."""
    path = tmp_path / "subs.csv"
    path.write_text("msisdn,puk1\n\n375291234567,12345678\n", encoding="utf-8")
    (record,) = read_subscriber_file(path, PEPPER)
    assert record.origin == f"{path}:3"


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_the_delimiter_is_detected(tmp_path: Path, delimiter: str) -> None:
    """A spreadsheet's export with semicolons or tabs reads as well as commas, also when
    every name holds a comma (which a guess from frequencies alone would take)."""
    path = tmp_path / "subs.csv"
    lines = [
        ["msisdn", "puk1", "client_ref", "client_kind", "client_name"],
        ["375291234567", "12345678", "acme", "legal_entity", "ACME, Ltd"],
        ["375291234568", "87654321", "beta", "legal_entity", "Beta, Ltd"],
    ]
    path.write_text("\n".join(delimiter.join(line) for line in lines) + "\n", encoding="utf-8")
    first, second = read_subscriber_file(path, PEPPER)
    assert (first.msisdn, first.client_name, second.client_ref) == (
        "375291234567", "ACME, Ltd", "beta")


def test_the_delimiter_can_be_given(tmp_path: Path) -> None:
    """``--delimiter ;``: the file is read with it, whatever a guess would say."""
    path = tmp_path / "subs.csv"
    path.write_text("msisdn;puk1\n375291234567;12345678\n", encoding="utf-8")
    (record,) = read_subscriber_file(path, PEPPER, ";")
    assert record.msisdn == "375291234567"
    with pytest.raises(SubscriberImportError, match="unknown column 'msisdn;puk1'"):
        read_subscriber_file(path, PEPPER, ",")
