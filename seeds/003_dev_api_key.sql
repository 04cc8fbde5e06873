-- The development API key of the bootstrap organisation, owned by the admin user.
-- The plain key never reaches the database: the provisioner passes its sha256 hex
-- (seed.dev_api_key_sha256) and its display prefix. That key is the variable
-- dev_api_key when given (the stored hash follows it), else a fresh random one that
-- is used only when the organisation has no active development key yet.
-- seed.dev_api_key_result tells the provisioner whether the key was stored
-- ('created' or 'updated'), which is when it prints it and writes it to .env.local.
DO $$
DECLARE
    v_org     uuid;
    v_hash    text := current_setting('seed.dev_api_key_sha256');
    v_prefix  text := current_setting('seed.dev_api_key_prefix');
    v_given   boolean := current_setting('seed.dev_api_key_given') = 'true';
    v_current text;
BEGIN
    SELECT id INTO v_org FROM organizations WHERE slug = current_setting('seed.org_slug');
    IF v_org IS NULL THEN
        RAISE EXCEPTION 'organisation % does not exist', current_setting('seed.org_slug');
    END IF;

    SELECT key_hash INTO v_current
    FROM api_keys
    WHERE org_id = v_org AND name = 'development' AND revoked_at IS NULL;

    IF NOT FOUND THEN
        INSERT INTO api_keys (org_id, user_id, name, key_prefix, key_hash)
        VALUES (
            v_org,
            (SELECT id FROM users WHERE email = lower(current_setting('seed.admin_email'))),
            'development', v_prefix, v_hash
        );
        PERFORM set_config('seed.dev_api_key_result', 'created', true);
    ELSIF v_given AND v_current <> v_hash THEN
        UPDATE api_keys
        SET key_hash = v_hash, key_prefix = v_prefix
        WHERE org_id = v_org AND name = 'development' AND revoked_at IS NULL;
        PERFORM set_config('seed.dev_api_key_result', 'updated', true);
    END IF;
END
$$;
