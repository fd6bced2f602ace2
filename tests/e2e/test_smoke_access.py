"""Smoke: *141*3*6# close and reopen over every dialect."""

from support import OPEN_RU, HandsetFactory


async def test_close_then_reopen_with_puk(handset: HandsetFactory) -> None:
    """A subscriber closes access, then reopens it with the right PUK1."""
    phone = handset(OPEN_RU.msisdn)
    screen = await phone.dial("*141*3*6#")
    assert "открыт" in screen.text and not screen.ends
    assert "Закрыть доступ в Личный кабинет?" in (await phone.send("1")).text
    assert (await phone.send("1")).ends
    await phone.dial("*141*3*6#")
    await phone.send("2")
    final = await phone.send(OPEN_RU.puk)
    assert final.ends and "открыт" in final.text
