-- provisioner:no-transaction
-- usage_hourly: requests and tokens per organisation, model and hour (UTC).
-- TimescaleDB: a continuous aggregate, refreshed by a policy, real-time (the hours not
-- materialised yet are read from usage_events), and it outlives the raw rows' 90-day
-- retention. Plain PostgreSQL: a materialized view with the same name and columns,
-- refreshed by whoever needs it fresh (REFRESH MATERIALIZED VIEW CONCURRENTLY
-- usage_hourly). No transaction: the first refresh of a continuous aggregate refuses
-- one; every statement is re-runnable, as such files must be.
-- errors counts status 'error' only: rate-limited and cancelled requests are not errors.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        -- WITH NO DATA: allowed in this DO block's transaction; filled below.
        EXECUTE $sql$
            CREATE MATERIALIZED VIEW IF NOT EXISTS usage_hourly
            WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
            SELECT time_bucket(interval '1 hour', time) AS hour,
                   org_id,
                   model,
                   count(*) AS requests,
                   sum(prompt_tokens) AS prompt_tokens,
                   sum(completion_tokens) AS completion_tokens,
                   sum(prompt_tokens) + sum(completion_tokens) AS total_tokens,
                   count(*) FILTER (WHERE status = 'error') AS errors
            FROM usage_events
            GROUP BY 1, 2, 3
            WITH NO DATA$sql$;
    ELSE
        -- date_bin from a UTC midnight: the same hours as time_bucket, whatever TimeZone.
        CREATE MATERIALIZED VIEW IF NOT EXISTS usage_hourly AS
        SELECT date_bin(interval '1 hour', time, timestamptz '2000-01-01 00:00:00+00') AS hour,
               org_id,
               model,
               count(*) AS requests,
               sum(prompt_tokens) AS prompt_tokens,
               sum(completion_tokens) AS completion_tokens,
               sum(prompt_tokens) + sum(completion_tokens) AS total_tokens,
               count(*) FILTER (WHERE status = 'error') AS errors
        FROM usage_events
        GROUP BY 1, 2, 3;
        -- Unique: what REFRESH ... CONCURRENTLY needs; also serves per-hour reads.
        CREATE UNIQUE INDEX IF NOT EXISTS usage_hourly_hour_org_model_idx
            ON usage_hourly (hour, org_id, model);
    END IF;
END
$$;

-- Materialise what usage_events already holds (the policy covers only 3 days), before
-- the policy exists: its job would start at once and refresh the same aggregate.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        CALL refresh_continuous_aggregate('usage_hourly', NULL, NULL);
    END IF;
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        -- Every 30 minutes, the last 3 days up to the last complete hour. Rows arriving
        -- later than 3 days stay out of the aggregate (and raw data past retention
        -- leaves the aggregate alone).
        EXECUTE $sql$SELECT add_continuous_aggregate_policy('usage_hourly',
                     start_offset => interval '3 days', end_offset => interval '1 hour',
                     schedule_interval => interval '30 minutes', if_not_exists => true)$sql$;
    END IF;
END
$$;
