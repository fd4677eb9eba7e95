"""End-to-end demos of each deployed system; each returns True only if everything it checked worked."""
