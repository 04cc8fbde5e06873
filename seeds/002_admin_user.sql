-- The system admin user for tests. Variables: admin_email, admin_password, org_slug.
-- The password is hashed here, in the database (pgcrypto bcrypt, cost 12), and only
-- when the user is created or the password no longer matches the stored hash:
-- hashing on every run would store a new hash (new salt) every time.
DO $$
BEGIN
    IF current_setting('seed.admin_password') = '' THEN
        RAISE EXCEPTION 'seed variable admin_password is empty'
            USING HINT = 'Set SEED_ADMIN_PASSWORD or leave it unset for the development default.';
    END IF;
END
$$;

-- Existing user: fix role and organisation, re-hash only a password that changed.
-- (Before the INSERT, so a user created just now is not compared again: crypt is slow.)
UPDATE users AS u
SET role = 'system_admin', org_id = o.id, disabled = false, updated_at = now()
FROM organizations AS o
WHERE o.slug = current_setting('seed.org_slug')
  AND u.email = lower(current_setting('seed.admin_email'))
  AND (u.role, u.org_id, u.disabled) IS DISTINCT FROM ('system_admin', o.id, false);

UPDATE users
SET password_hash = crypt(current_setting('seed.admin_password'), gen_salt('bf', 12)),
    updated_at = now()
WHERE email = lower(current_setting('seed.admin_email'))
  AND (password_hash IS NULL
       OR crypt(current_setting('seed.admin_password'), password_hash) <> password_hash);

INSERT INTO users (org_id, email, display_name, role, password_hash)
SELECT o.id,
       lower(current_setting('seed.admin_email')),
       'System Administrator',
       'system_admin',
       crypt(current_setting('seed.admin_password'), gen_salt('bf', 12))
FROM organizations AS o
WHERE o.slug = current_setting('seed.org_slug')
  AND NOT EXISTS (
      SELECT 1 FROM users WHERE email = lower(current_setting('seed.admin_email'))
  );
