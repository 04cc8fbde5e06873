-- A continuous aggregate's refresh policy and materialised rows go with it.
DROP MATERIALIZED VIEW IF EXISTS usage_hourly;
