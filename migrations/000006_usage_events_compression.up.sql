-- Compress usage_events chunks once they are a week old (TimescaleDB only; plain
-- PostgreSQL has nothing to do here). Chunks are 1 day (000005), so a chunk is
-- compressed 7-8 days after its first row; the last week, which is what is inserted
-- into and read raw, stays row-oriented. Segmented by org_id: per-organisation
-- questions read only that organisation's compressed rows; ordered by time within it.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        -- EXECUTE: the options and functions do not exist on plain PostgreSQL.
        EXECUTE $sql$ALTER TABLE usage_events SET (timescaledb.compress,
                     timescaledb.compress_segmentby = 'org_id',
                     timescaledb.compress_orderby = 'time DESC, id DESC')$sql$;
        EXECUTE $sql$SELECT add_compression_policy('usage_events', interval '7 days',
                     if_not_exists => true)$sql$;
    END IF;
END
$$;
