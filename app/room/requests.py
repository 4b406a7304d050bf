"""What every route of the desks' API reads from a request: who sent it, its JSON body and
the numbers in it, each refused with a reason when it is not what was expected. No Qt."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from app.access import Person


def person_of(request: web.Request) -> Person:
    """The person the request's token signed in (set by the API's authentication)."""
    person: Person = request["person"]
    return person


def number_in(body: Mapping[str, Any], key: str) -> float | None:
    """`body[key]` as a number, or None where it is missing or not one (a bool is not)."""
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


async def json_body(request: web.Request, *, empty_ok: bool = False) -> Mapping[str, Any]:
    """The request's JSON object; 400 for anything else (no body, where `empty_ok`, is {})."""
    if empty_ok and not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="expected a JSON object\n") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="expected a JSON object\n")
    return body
