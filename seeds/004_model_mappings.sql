-- The mock model, served by the mock inference service at its in-network URL.
-- Variable: mock_model_base_url.
INSERT INTO model_mappings (public_name, provider, base_url, backend_model, enabled)
VALUES ('mock-gpt', 'openai-compatible', current_setting('seed.mock_model_base_url'),
        'mock-gpt', true)
ON CONFLICT (public_name) DO UPDATE
    SET provider = EXCLUDED.provider,
        base_url = EXCLUDED.base_url,
        backend_model = EXCLUDED.backend_model,
        enabled = EXCLUDED.enabled,
        updated_at = now()
    WHERE (model_mappings.provider, model_mappings.base_url,
           model_mappings.backend_model, model_mappings.enabled)
          IS DISTINCT FROM
          (EXCLUDED.provider, EXCLUDED.base_url, EXCLUDED.backend_model, EXCLUDED.enabled);
