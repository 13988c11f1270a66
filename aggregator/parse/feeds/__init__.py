"""PURE: RSS and Atom documents -> Posts: the fast lxml reader for the common shapes,
feedparser for the rest, and the DTD refusal both sit behind."""
