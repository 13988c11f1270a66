"""PURE: bytes in, Posts out; no I/O, no clock.

    Document --bytes--> feeds/ (lxml, else feedparser) ---------------> Post...
    Document --decode_body--> str --> live/ (live pages) | article ----> Post...

The caller passes the source's timezone; every datetime that comes out is aware UTC.
"""
