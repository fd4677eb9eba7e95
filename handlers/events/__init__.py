"""Active-active events: POST /events (SigV4) in either region -> workflow -> idempotent, versioned write
to the global event table, by the id's owner only (handlers/events/ownership.py); conflicts decided by
handlers/events/conflict.py and repaired from the stream."""
