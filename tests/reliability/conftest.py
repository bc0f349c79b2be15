from tests.reliability.support import pg_database, servers  # noqa: F401
