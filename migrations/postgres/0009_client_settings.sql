-- Auth0's client settings beyond F2's (description, callbacks, origins, metadata…), as the
-- JSON of the domain's ClientSettings; NULL for F2's bootstrap client, whose settings are the
-- defaults of a machine-to-machine client.
ALTER TABLE clients ADD COLUMN settings TEXT;
-- Grants by client (a deleted client takes its grants) and by audience (a deleted API too).
CREATE INDEX client_grants_audience ON client_grants (tenant_id, audience);
