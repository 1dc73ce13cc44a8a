"""Operations on needs and pledges. Each runs inside the caller's transaction and only
flushes; the boundary (request, command or payday job) commits."""
