-- The bootstrap organisation. Variables: org_slug, org_name.
-- Seeds are re-run whenever their file or the seed variables change, so every
-- statement must be idempotent: no duplicates, no rewrite of rows already right.
INSERT INTO organizations (slug, name)
VALUES (current_setting('seed.org_slug'), current_setting('seed.org_name'))
ON CONFLICT (slug) DO UPDATE
    SET name = EXCLUDED.name, updated_at = now()
    WHERE organizations.name IS DISTINCT FROM EXCLUDED.name;
