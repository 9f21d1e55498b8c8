"""Phone number masking (138****8000) for roles and places that do not
need the full number (seeds A, confidentiality: customer information is
not to leak).  Which roles see masked numbers is a setting
(`phone_masked_roles`); wallboards, on screens in the room, always mask.
"""

from __future__ import annotations

import re
from typing import Any

_JSON_NUMBER_FIELDS = re.compile(r'"(caller_number|caller|number|phone|raw|connected_line_num|callerid_num)":"([^"\\]*)"')


def mask_phone(value: str | None) -> str | None:
    """Keep the first 3 and last 4 digits of a long number (13812348000 ->
    138****8000), the last 4 of a 6-7 digit one; extensions and service
    numbers (<= 5 digits: 8001, 10086, 95555) are not personal and stay.  Separators and
    a leading + are kept where they were."""
    if not value:
        return value
    positions = [i for i, ch in enumerate(value) if ch.isdigit()]
    n = len(positions)
    if n <= 5:
        return value
    head = 3 if n >= 8 else 0
    hidden = set(positions[head : n - 4])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(value))


def masks(role: Any, masked_roles: list[str] | tuple[str, ...]) -> bool:
    return getattr(role, "value", role) in masked_roles


def mask_json_text(text: str) -> str:
    """Mask the phone-number fields of a serialised JSON message."""
    return _JSON_NUMBER_FIELDS.sub(lambda m: f'"{m[1]}":"{mask_phone(m[2])}"', text)


def mask_fields(data: dict[str, Any], *fields: str) -> dict[str, Any]:
    """A copy of `data` with the named phone fields masked."""
    out = dict(data)
    for f in fields:
        if isinstance(out.get(f), str):
            out[f] = mask_phone(out[f])
    return out
