"""Reading the gateway's ``/metrics`` and ``/readyz`` in tests: samples by name and labels."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Page:
    """One scrape: every sample, and every family with its type."""

    text: str
    samples: Mapping[tuple[str, frozenset[tuple[str, str]]], float]
    types: Mapping[str, str]

    def value(self, name: str, **labels: str) -> float:
        """The sample's value (0 when the page has none: a counter not moved yet)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def total(self, name: str, **labels: str) -> float:
        """The sum of ``name`` over every sample whose labels include ``labels``."""
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items() if n == name and wanted <= ls)

    def has(self, name: str, **labels: str) -> bool:
        """Whether the page has that sample."""
        return (name, frozenset(labels.items())) in self.samples

    def label_values(self, name: str, label: str) -> set[str]:
        """Every value ``label`` takes on samples of ``name``."""
        return {dict(ls)[label] for n, ls in self.samples if n == name and label in dict(ls)}


def parse(text: str) -> Page:
    """A page in the text exposition format."""
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return Page(text, samples, types)


async def scrape(url: str) -> Page:
    """``GET url/metrics`` on a new connection (with several workers: any of them)."""
    async with aiohttp.ClientSession() as http, http.get(url.rstrip("/") + "/metrics") as r:
        assert r.status == 200
        return parse(await r.text())


async def readyz(url: str) -> tuple[int, Any, str]:
    """``GET url/readyz``: the status, the JSON body and its raw text."""
    async with aiohttp.ClientSession() as http, http.get(url.rstrip("/") + "/readyz") as r:
        text = await r.text()
        return r.status, await r.json(), text


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    """Wait until ``check`` holds (the outbox worker and the readiness cache take a moment)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "gave up waiting"
        await asyncio.sleep(0.1)
