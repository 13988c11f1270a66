"""EDGE: get a source's bytes, and only the bytes that changed since the last poll.

    http.py   conditional GET of an http(s) URL, capped in size and time
    files.py  stat, then read, the local files an absolute path or glob names
    limits.py FetchLimits: the caps both obey

Every foreign error (httpx, OSError) becomes a FetchError here, once, with its cause.
"""
