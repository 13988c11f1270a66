"""Serving what publish/ renders: the HTTP routes, the per-process rendering cache, one
store read shared by streams that wake together, the web server's connection limits,
and the documents written to files."""
