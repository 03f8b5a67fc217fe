-- Published to license (quality-attributes.yaml: license reads tenants): license refuses
-- to grant a license to a tenant that does not exist or is suspended (the platform admin
-- token can name any tenant id).

GRANT SELECT ON directory.tenants TO license_service;
