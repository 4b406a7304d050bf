"""The feeds an instance shows: the sources it runs (from the config, the demo, or callers as
they come) and what `vigil status` says of each."""

from app.feeds.demo import DemoSender
from app.feeds.demo_positions import DemoPositions
from app.feeds.service import FeedService, with_password
from app.feeds.status import feed_status

__all__ = ["DemoPositions", "DemoSender", "FeedService", "feed_status", "with_password"]
