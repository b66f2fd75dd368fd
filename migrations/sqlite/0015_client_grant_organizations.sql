-- Organizations for machine-to-machine access (F5): whether a grant's client_credentials
-- tokens may (allow) or must (require) name an organization, and whether any organization of
-- the tenant will do. Every grant before this was Auth0's default: deny, no organization.
-- The organizations a grant is associated with are answered from memory (applications.memory).
ALTER TABLE client_grants ADD COLUMN organization_usage TEXT NOT NULL DEFAULT 'deny';
ALTER TABLE client_grants ADD COLUMN allow_any_organization INTEGER NOT NULL DEFAULT 0;
