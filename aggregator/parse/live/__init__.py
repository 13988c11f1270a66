"""PURE: live-update pages -> Posts: structured data (JSON-LD, microdata), rendered post
blocks found by shape, and pages read as dated paragraphs."""
