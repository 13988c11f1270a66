"""PURE: sameness. Post -> Entry with a stable identity (normalize), near-duplicate
evidence (facts, similarity), and the decision for each arriving entry (decide)."""
