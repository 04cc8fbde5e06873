-- Extensions the schema uses.
-- pgcrypto: crypt()/gen_salt() for password hashes (seeds), digest() for API key hashes.
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- TimescaleDB when this server can load it; plain PostgreSQL otherwise. The check is
-- in SQL so the same files run on timescale/timescaledb and on plain PostgreSQL:
-- CREATE EXTENSION timescaledb on a server that does not preload the library fails
-- ('must be preloaded'), so it needs both the package and shared_preload_libraries.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        RETURN;  -- the TimescaleDB image creates it in POSTGRES_DB already
    END IF;
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
       AND current_setting('shared_preload_libraries', true) LIKE '%timescaledb%' THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
    END IF;
END
$$;
