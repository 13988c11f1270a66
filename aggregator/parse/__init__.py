"""PURE: bytes in, Posts out; no I/O, no clock.

    Document --decode_body--> str --(feed | liveblog | article reader)--> Post...

The caller passes the source's timezone; every datetime that comes out is aware UTC.
"""
