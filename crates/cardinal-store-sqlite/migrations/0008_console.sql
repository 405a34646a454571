-- The console's pending SCA list: an organization's sessions still waiting, newest first.
CREATE INDEX sca_sessions_waiting ON sca_sessions (organization_id, created_at) WHERE result = 'waiting';
