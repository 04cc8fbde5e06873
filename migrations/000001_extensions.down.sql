-- Extensions stay installed: dropping timescaledb would drop every hypertable in the
-- database (and the TimescaleDB image created it, not us), and pgcrypto is harmless.
-- The down of every later migration removes all that uses them.
SELECT 1;
