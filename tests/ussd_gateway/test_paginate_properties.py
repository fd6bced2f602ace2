"""Properties of pagination: every page fits, nothing is lost or repeated, navigation is right."""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import example, given, settings
from hypothesis import strategies as st

from sms.encoding import Encoding, measure, ussd_limit
from ussd_gateway.menus.loader import load_catalog
from ussd_gateway.menus.paginate import Navigation, paginate

Limit = Callable[[Encoding], int]

CATALOG = load_catalog()
NAVIGATIONS = {lang: CATALOG.navigation(lang) for lang in ("ru", "en")}

# --- strategies ------------------------------------------------------------------------------

CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
LATIN = string.ascii_letters + string.digits + ".,:;!?-'()\"%&+/*=<>#"
GSM_ACCENTED = "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà"
GSM_EXTENSION = "^{}\\[~]|€"
EMOJI = ("😀", "👍", "🎉", "👍🏽", "🇧🇾", "❤️", "☎", "✓")
OTHER = ("ç", "–", "’", "«", "»", "№", "\u00a0", "ي", "中", "Ω", "é")

cyrillic_word = st.text(alphabet=CYRILLIC, min_size=1, max_size=14)
latin_word = st.text(alphabet=LATIN, min_size=1, max_size=14)
gsm_word = st.text(alphabet=LATIN + GSM_ACCENTED + GSM_EXTENSION, min_size=1, max_size=10)
emoji_word = st.lists(st.sampled_from(EMOJI), min_size=1, max_size=4).map("".join)
odd_word = st.lists(st.sampled_from(OTHER) | st.sampled_from(LATIN), min_size=1, max_size=6).map(
    "".join
)
long_word = st.lists(
    st.sampled_from(list(CYRILLIC + LATIN + GSM_EXTENSION) + list(EMOJI)),
    min_size=40,
    max_size=400,
).map("".join)
long_gsm_word = st.text(alphabet=LATIN + GSM_EXTENSION, min_size=60, max_size=400)
word = st.one_of(
    cyrillic_word, latin_word, gsm_word, emoji_word, odd_word, long_word, long_gsm_word
)
spaces = st.sampled_from([" "] * 8 + ["  "])
_NO_DIGITS = str.maketrans("0123456789", "oizEhsGLBq")
digitless_word = word.map(lambda w: w.translate(_NO_DIGITS))


@st.composite
def phrase(draw: st.DrawFn, max_words: int = 40, words: st.SearchStrategy[str] = word) -> str:
    """Words joined by spaces (now and then two)."""
    chosen = draw(st.lists(words, min_size=1, max_size=max_words))
    out = chosen[0]
    for w in chosen[1:]:
        out += draw(spaces) + w
    return out


@dataclass(frozen=True)
class Screen:
    """Lines to paginate, the language of the navigation labels, and which lines are options."""

    lines: list[str]
    lang: str
    options: list[str]


@st.composite
def screens(draw: st.DrawFn, digits_in_text: bool = True) -> Screen:
    """Lines of a screen (optional notice, text, numbered options) and the language.

    Without ``digits_in_text`` only the option keys have digits, so no piece of other
    content can ever look like an option line.
    """
    words = word if digits_in_text else digitless_word
    lang = draw(st.sampled_from(sorted(NAVIGATIONS)))
    lines: list[str] = []
    if draw(st.booleans()):
        lines.append(draw(phrase(max_words=8, words=words)))  # a notice
    # A screen's text may span several lines of its own (YAML "\n"); the menu checker
    # holds each of them to fitting a page, so each is a line here too.
    lines.append("\n".join(draw(st.lists(phrase(words=words), min_size=1, max_size=3))))
    keys = draw(st.lists(st.integers(1, 97).map(str), unique=True, max_size=12))
    options = [f"{key}. {draw(phrase(max_words=12, words=words))}" for key in keys]
    lines += options
    # Lines between options sometimes, as a notice or a sub-heading would be.
    for _ in range(draw(st.integers(0, 2))):
        lines.insert(draw(st.integers(0, len(lines))), draw(phrase(max_words=10, words=words)))
    return Screen(lines, lang, options)


@st.composite
def limits(draw: st.DrawFn) -> Limit:
    """The 3GPP limits, or a service's lower ones (still room for navigation and content)."""
    if draw(st.booleans()):
        return ussd_limit
    gsm = draw(st.integers(24, ussd_limit(Encoding.GSM7)))
    ucs = draw(st.integers(24, ussd_limit(Encoding.UCS2)))
    chosen = {Encoding.GSM7: gsm, Encoding.UCS2: ucs}
    return chosen.__getitem__


# --- helpers -----------------------------------------------------------------------------------


def fits(text: str, limit: Limit) -> bool:
    m = measure(text)
    return m.units <= limit(m.encoding)


def fits_middle_page(text: str, nav: Navigation, limit: Limit) -> bool:
    """Whether ``text`` fits a page that carries both navigation lines."""
    return fits("\n".join([text, nav.more_line(), nav.back_line()]), limit)


def visible(text: str) -> str:
    """The characters of ``text`` a handset shows as ink: everything but whitespace."""
    return "".join(ch for ch in text if not ch.isspace())


def split_pages(pages: list[str], nav: Navigation) -> list[list[str]]:
    """Each page's content lines, after checking its navigation tail is exactly right."""
    bodies = []
    last = len(pages) - 1
    for i, page in enumerate(pages):
        lines = page.split("\n")
        tail = ([] if i == last else [nav.more_line()]) + ([] if i == 0 else [nav.back_line()])
        assert lines[len(lines) - len(tail) :] == tail, f"page {i} ends wrongly: {lines[-2:]!r}"
        body = lines[: len(lines) - len(tail)]
        assert nav.more_line() not in body and nav.back_line() not in body
        bodies.append(body)
    return bodies


def assert_content_preserved(
    lines: list[str], content: list[str], nav: Navigation, limit: Limit
) -> None:
    """Lines that fit a page are there whole, once, in order; longer ones keep every word.

    Across everything, the visible characters are the original ones in the original order,
    so nothing is lost, duplicated or reordered; a line cut into pieces may change only
    whitespace, and a word that fits a page on its own is never cut.
    """
    assert visible("".join(content)) == visible("".join(lines)), "content lost or changed"
    at = 0
    for line in [physical for text in lines for physical in text.split("\n")]:
        if not line.strip():
            # A blank line carries nothing; it may be kept or dropped.
            at += at < len(content) and content[at] == line
            continue
        if fits_middle_page(line, nav, limit):
            assert at < len(content), f"line lost: {line!r}"
            assert content[at] == line, f"line not kept whole: {line!r} vs {content[at]!r}"
            at += 1
            continue
        need = visible(line)
        spans: list[tuple[int, int]] = []
        pos = 0
        while pos < len(need):
            assert at < len(content), f"words lost from {line[:40]!r}…"
            chunk = visible(content[at])
            assert chunk and need[pos : pos + len(chunk)] == chunk, f"{content[at]!r} out of place"
            spans.append((pos, pos + len(chunk)))
            pos += len(chunk)
            at += 1
        pos = 0
        for word in line.split(" "):
            size = len(visible(word))
            if size and fits_middle_page(word, nav, limit):
                assert any(s <= pos and pos + size <= e for s, e in spans), (
                    f"word {word!r} was cut though it fits a page"
                )
            pos += size
    assert at == len(content), f"extra content: {content[at:]!r}"


# --- properties --------------------------------------------------------------------------------


@settings(max_examples=300)
@given(screens(), limits())
@example(Screen(["\u00a0"], "ru", []), ussd_limit)
def test_pages_fit_and_keep_everything(screen: Screen, limit: Limit) -> None:
    """Every page fits its encoding's limit, has content, and the content is the original."""
    lines, lang = screen.lines, screen.lang
    nav = NAVIGATIONS[lang]
    pages = paginate(lines, nav, limit)
    assert pages
    for i, page in enumerate(pages):
        m = measure(page)
        assert m.units <= limit(m.encoding), f"page {i} is {m.units} {m.encoding}: {page!r}"
    bodies = split_pages(pages, nav)
    # A screen of nothing but spaces (a no-break space alone, say) is one page of itself.
    if visible("".join(lines)):
        for i, body in enumerate(bodies):
            assert any(line.strip() for line in body), f"page {i} has no content"
    if len(pages) == 1:
        assert pages[0] == "\n".join(lines)
    else:
        assert_content_preserved(lines, [line for body in bodies for line in body], nav, limit)


@given(screens(digits_in_text=False), limits())
def test_every_option_that_fits_is_whole_on_exactly_one_page(screen: Screen, limit: Limit) -> None:
    """An option line ("N. label") that fits a page appears whole on exactly one page."""
    nav = NAVIGATIONS[screen.lang]
    pages = paginate(screen.lines, nav, limit)
    bodies = split_pages(pages, nav) if len(pages) > 1 else [pages[0].split("\n")]
    for option in screen.options:
        if not fits_middle_page(option, nav, limit):
            continue
        holding = [i for i, body in enumerate(bodies) for line in body if line == option]
        assert len(holding) == 1, f"{option!r} is whole on pages {holding}"


@given(screens(), limits())
def test_navigation_is_where_it_belongs(screen: Screen, limit: Limit) -> None:
    """98 ends every page but the last, 00 every page but the first; nothing else is nav."""
    lines, lang = screen.lines, screen.lang
    nav = NAVIGATIONS[lang]
    pages = paginate(lines, nav, limit)
    if len(pages) == 1:
        assert nav.more_line() not in pages[0].split("\n")
        return
    for i, page in enumerate(pages):
        page_lines = page.split("\n")
        has_more = nav.more_line() in page_lines
        has_back = nav.back_line() in page_lines
        assert has_more == (i < len(pages) - 1)
        assert has_back == (i > 0)
        if has_more and has_back:
            assert page_lines[-2:] == [nav.more_line(), nav.back_line()]
    split_pages(pages, nav)


@given(screens(), limits())
@example(
    Screen(["Доступ в Личный кабинет открыт.", "1. Закрыть", "2. Открыть"], "ru", []), ussd_limit
)
def test_a_screen_that_fits_is_returned_unchanged(screen: Screen, limit: Limit) -> None:
    """A text that fits one screen comes back as that one page; one that doesn't, as several."""
    lines, lang = screen.lines, screen.lang
    whole = "\n".join(lines)
    pages = paginate(lines, NAVIGATIONS[lang], limit)
    if fits(whole, limit):
        assert pages == [whole]
    else:
        assert len(pages) >= 2


@st.composite
def short_screens(draw: st.DrawFn) -> tuple[list[str], str]:
    """Screens small enough to fit, drawn directly (the general strategy rarely fits)."""
    lang = draw(st.sampled_from(sorted(NAVIGATIONS)))
    small = st.one_of(cyrillic_word, latin_word, gsm_word, emoji_word)
    lines = draw(
        st.lists(st.lists(small, min_size=1, max_size=3).map(" ".join), min_size=1, max_size=4)
    )
    return lines, lang


@given(short_screens())
def test_short_screens_are_one_page(screen: tuple[list[str], str]) -> None:
    """Short screens within the limit are never paginated."""
    lines, lang = screen
    whole = "\n".join(lines)
    pages = paginate(lines, NAVIGATIONS[lang])
    assert (pages == [whole]) is fits(whole, ussd_limit)


@given(
    st.sampled_from(sorted(NAVIGATIONS)),
    st.integers(1, 400),
    st.sampled_from(["a", "Ж", "€", "😀"]),
)
def test_one_huge_word_is_cut_into_full_pages(lang: str, n: int, ch: str) -> None:
    """A single word longer than a page is cut by characters and nothing is lost."""
    nav = NAVIGATIONS[lang]
    text = ch * n
    pages = paginate([text], nav)
    if len(pages) == 1:
        assert pages == [text] and fits(text, ussd_limit)
        return
    bodies = split_pages(pages, nav)
    assert "".join("".join(body) for body in bodies) == text
    for page in pages:
        m = measure(page)
        assert m.units <= ussd_limit(m.encoding)
