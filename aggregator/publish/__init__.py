"""PURE: render a story's merged timeline to the bytes subscribers read. No I/O here.

    StoryView  --atom.render_atom-------> Atom 1.0 (RFC 4287)
    StoryView  --jsonfeed.render_jsonfeed-> JSON Feed 1.1
    StoryView  --page.render_page-------> the readable HTML5 page
    StreamEvent --stream.format_event---> one Server-Sent Events frame

Every function takes what it needs as arguments: no clock, environment or global.
Identifiers come from `ids`, timestamps from `timefmt`, so the three formats agree.
"""
