"""Serving what publish/ renders: the HTTP routes and their shared answers, the event
streams with their "story changed" signal and one store read shared by streams that wake
together, the per-process rendering cache, the web server's connection limits and access
log, and the documents written to files."""
