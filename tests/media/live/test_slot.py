"""The latest-frame slot keeps one picture and counts the ones nobody looked at."""

from media.live.slot import FrameSlot
from tests.pictures import solid_picture


def test_take_hands_out_each_picture_once() -> None:
    slot = FrameSlot()
    assert slot.take() is None
    first = solid_picture(4, 4, (0, 0, 0), 1)
    slot.put(first)
    assert slot.take() is first
    assert slot.take() is None, "a picture already taken is not handed out again"
    assert slot.peek() is first, "but it stays there for a repaint"


def test_newer_picture_replaces_older_and_counts_the_drop() -> None:
    """Three pictures arrive before the screen looks: it gets the newest; two were dropped."""
    slot = FrameSlot()
    pictures = [solid_picture(4, 4, (i, i, i), i) for i in range(1, 4)]
    for picture in pictures:
        slot.put(picture)
    assert slot.take() is pictures[-1]
    assert slot.dropped == 2


def test_clear_empties_the_slot() -> None:
    slot = FrameSlot()
    slot.put(solid_picture(4, 4, (1, 2, 3)))
    slot.clear()
    assert slot.take() is None
    assert slot.peek() is None
