"""EDGE: get a source's bytes, and only the bytes that changed since the last poll.

    http.py   conditional GET of an http(s) URL, capped in size and time
    files.py  stat, then read, the local files an absolute path or glob names
    limits.py FetchLimits: the caps all obey, with the config's `[fetch]` choices
    destinations.py, network.py   which addresses a request may reach; one deadline
    decoding.py  Content-Encoding undone with every step's output capped
    politeness.py  per-host slots, gap and Retry-After holds among this process's threads
    reasons.py   httpx errors as FetchError, told in a few words fit for /healthz

Every foreign error (httpx, OSError) becomes a FetchError here, once, with its cause.
"""
