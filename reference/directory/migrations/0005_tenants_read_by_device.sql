-- Published to device (quality-attributes.yaml: device reads tenants): device refuses
-- devices, certificate authorities and certificates for a tenant that does not exist
-- (the platform admin token can name any tenant id).

GRANT USAGE ON SCHEMA directory TO device_service;
GRANT SELECT ON directory.tenants TO device_service;
