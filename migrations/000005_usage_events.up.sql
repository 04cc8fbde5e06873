-- One row per inference request. A TimescaleDB hypertable when the extension is
-- installed (000001 decides), a plain table otherwise; the same columns either way.
CREATE TABLE usage_events (
    time               timestamptz NOT NULL DEFAULT now(),
    id                 bigint GENERATED ALWAYS AS IDENTITY,
    org_id             uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    api_key_id         uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    model              text NOT NULL,
    prompt_tokens      integer NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens  integer NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    latency_ms         integer CHECK (latency_ms >= 0),
    status             text NOT NULL CHECK (status IN ('ok', 'error', 'rate_limited', 'cancelled')),
    -- A hypertable needs the time column in every unique index, the primary key included.
    PRIMARY KEY (time, id)
);

CREATE INDEX usage_events_org_time_idx ON usage_events (org_id, time DESC);
CREATE INDEX usage_events_key_time_idx ON usage_events (api_key_id, time DESC);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        -- EXECUTE: these functions do not exist on plain PostgreSQL.
        EXECUTE $sql$SELECT create_hypertable('usage_events', 'time',
                     chunk_time_interval => interval '1 day', migrate_data => true)$sql$;
        EXECUTE $sql$SELECT add_retention_policy('usage_events', interval '90 days',
                     if_not_exists => true)$sql$;
    END IF;
END
$$;
