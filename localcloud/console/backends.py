"""moto's backends as the console walks them: only those that exist, copied before they are read.

moto creates a region's backend on first item access (`backends[account][region]`), so the console reads
the dictionaries with dict methods, which never create one. Server threads mutate the models while the
console reads them; a collection is copied (one C-level call, under the GIL) before it is iterated.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
_ATTEMPTS = 5


def existing(backend_dict: Any) -> Iterator[tuple[str, str, Any]]:
    """(account, region, backend) for each backend moto has created, none created here."""
    for account, regions in copied(dict.items(backend_dict)):
        for region, backend in copied(dict.items(regions)):
            yield account, region, backend


def retried(read: Callable[[], Result]) -> Result:
    """read(), again if another thread resized what it iterates meanwhile."""
    for _ in range(_ATTEMPTS - 1):
        try:
            return read()
        except RuntimeError:  # "changed size during iteration": a server thread added or removed one
            continue
    return read()


def copied(collection: Iterable[Item]) -> list[Item]:
    """A list of a re-iterable collection's items (a list, or a dict's view)."""
    return retried(lambda: list(collection))


def listed(read: Callable[[], Iterable[Item]]) -> list[Item]:
    """A list of what a model's listing method answers (e.g. LambdaBackend.list_functions)."""
    return retried(lambda: list(read()))


def iso_time(value: Any) -> str | None:
    """An ISO 8601 UTC time from a datetime (naive ones are UTC in moto), epoch milliseconds, or an
    already formatted string; None for no time."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    elif isinstance(value, int | float):
        moment = datetime.datetime.fromtimestamp(value / 1000, tz=datetime.UTC)
    else:
        return str(value)
    return moment.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def enum_text(value: Any) -> str | None:
    """An enum's value (moto's Step Functions types are str enums, whose str() is the member's name)."""
    if value is None:
        return None
    return str(getattr(value, "value", value))
