-- The public model name a client asks for, mapped to the backend that serves it.
CREATE TABLE model_mappings (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    public_name    text NOT NULL UNIQUE CHECK (length(btrim(public_name)) > 0),
    provider       text NOT NULL CHECK (provider ~ '^[a-z][a-z0-9-]*$'),
    base_url       text NOT NULL CHECK (base_url ~ '^https?://'),
    backend_model  text NOT NULL CHECK (length(btrim(backend_model)) > 0),
    enabled        boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
