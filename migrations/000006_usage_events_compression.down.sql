-- Back to uncompressed chunks: the policy goes, compressed chunks are decompressed
-- (their rows stay), then compression is switched off.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        EXECUTE $sql$SELECT remove_compression_policy('usage_events', if_exists => true)$sql$;
        EXECUTE $sql$SELECT decompress_chunk(c, if_compressed => true)
                     FROM show_chunks('usage_events') AS c$sql$;
        EXECUTE $sql$ALTER TABLE usage_events SET (timescaledb.compress = false)$sql$;
    END IF;
END
$$;
