"""Getting a story's sources into the store: the registry of source kinds (sources),
one poll as a pipe (pipeline), the parse pool (parsing), the scheduler (worker) and the
file watch (watch)."""
