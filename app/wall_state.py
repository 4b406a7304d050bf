"""The wall's arrangement kept between runs: the layout, the order of the tiles, and where
the map panel is (docked, floating on another screen, or hidden)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class WallState:
    layout: str | None = None
    order: list[str] = field(default_factory=list)
    """Feed names, first tile first."""
    panels: str | None = None
    """The window's docked panels as Qt saves them (QMainWindow.saveState, base64)."""

    @classmethod
    def load(cls, path: Path) -> WallState:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            layout = data.get("layout")
            order = [name for name in data.get("order", []) if isinstance(name, str)]
            panels = data.get("panels")
            return cls(
                layout if isinstance(layout, str) else None,
                order,
                panels if isinstance(panels, str) else None,
            )
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, AttributeError) as exc:
            log.warning("ignoring unreadable wall state %s: %s", path, exc)
            return cls()

    def save(self, path: Path) -> None:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(
            json.dumps(
                {"layout": self.layout, "order": self.order, "panels": self.panels}, indent=1
            ),
            encoding="utf-8",
        )
        os.replace(temporary, path)


def ordered(names: list[str], saved_order: list[str]) -> list[str]:
    """`names` in the saved order; names the save does not know go last, as configured."""
    rank = {name: i for i, name in enumerate(saved_order)}
    return sorted(names, key=lambda name: (rank.get(name, len(rank)), names.index(name)))
