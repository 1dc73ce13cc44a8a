"""The books' operations. Each runs inside the caller's transaction and only flushes; the
boundary (request, command or job) commits."""
