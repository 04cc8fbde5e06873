DROP TABLE IF EXISTS model_mappings;
