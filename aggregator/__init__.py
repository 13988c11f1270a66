"""aggregator: follow one news story across many sources and republish it as one feed."""

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/aggregator-news/aggregator"
USER_AGENT = f"aggregator/{__version__} (+{PROJECT_URL})"
