"""PURE: the vocabulary every stage shares (types, errors) and the rules that need
nothing else: reading a count from untrusted text, when to poll a source next."""
