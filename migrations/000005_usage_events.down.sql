-- Dropping a hypertable also removes its chunks and its retention policy job.
DROP TABLE IF EXISTS usage_events;
