"""ElastiCache: replication groups (provision.py), each stood in for by a real Valkey/Redis server on
loopback (redis_server.py)."""
