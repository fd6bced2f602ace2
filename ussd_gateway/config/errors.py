"""The configuration's one error: every problem found, each naming its key and its source."""

from __future__ import annotations


class ConfigError(ValueError):
    """The configuration is unusable; the message names the setting.

    ``problems`` holds one line per problem (``config check`` prints them one per line);
    the message is all of them on one line. No problem quotes a secret's value.
    """

    def __init__(self, *problems: str) -> None:
        super().__init__("; ".join(problems))
        self.problems: tuple[str, ...] = problems
