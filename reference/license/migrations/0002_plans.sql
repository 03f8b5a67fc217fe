-- Plans: the catalogue offered to every tenant. A global table (no tenant data, so no
-- tenant_id and no row-level security; declared in quality-attributes.yaml global_tables).
-- Plans are written only here, by migrations: the API reads them. A plan is never
-- deleted or changed in place once a license uses it; a new offer is a new plan.

CREATE TABLE license.plans (
    id uuid PRIMARY KEY,
    code text NOT NULL CHECK (code ~ '^[a-z][a-z0-9-]{1,31}$'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    -- What a seat of this plan unlocks in the products (feature flags they check).
    features text[] NOT NULL CHECK (cardinality(features) >= 1),
    -- The most seats one license of this plan may have; NULL: no limit.
    max_seats integer CHECK (max_seats >= 1),
    CONSTRAINT plans_code_unique UNIQUE (code)
);

-- Fixed ids: the same plan has the same id in every installation.
INSERT INTO license.plans (id, code, name, description, features, max_seats) VALUES
    ('5e1ec7ed-0000-4000-8000-000000000001', 'starter', 'Starter',
     'A small practice: records and appointments.',
     ARRAY['patient-records', 'appointments'], 5),
    ('5e1ec7ed-0000-4000-8000-000000000002', 'clinic', 'Clinic',
     'A clinic: records, appointments, e-prescriptions and lab results.',
     ARRAY['patient-records', 'appointments', 'e-prescriptions', 'lab-results'], 50),
    ('5e1ec7ed-0000-4000-8000-000000000003', 'pharmacy', 'Pharmacy',
     'A pharmacy: e-prescriptions, dispensing and stock.',
     ARRAY['e-prescriptions', 'dispensing', 'inventory'], 50),
    ('5e1ec7ed-0000-4000-8000-000000000004', 'enterprise', 'Enterprise',
     'Every feature, any number of seats, audit export.',
     ARRAY['patient-records', 'appointments', 'e-prescriptions', 'lab-results', 'dispensing',
           'inventory', 'audit-export'], NULL);

-- Read-only for the service: the catalogue changes only through migrations.
GRANT SELECT ON license.plans TO license_service;
