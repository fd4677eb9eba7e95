"""Active-active events: POST /events in either region -> workflow -> idempotent, versioned write to the
global event table; conflicts decided by handlers/events/conflict.py and repaired from the stream."""
