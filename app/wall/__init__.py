"""What is on which screen: the wall's plan across screens, presets, what is kept between runs,
what is on view (and so shuttered or heard), the Wall menu, and `vigil wall`'s side in the
window."""

from app.wall.plan import ScreenPlan
from app.wall.state import WallState, ordered

__all__ = ["ScreenPlan", "WallState", "ordered"]
