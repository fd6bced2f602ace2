-- The sweepers run every few seconds: let them find live sessions past their time and old
-- ended ones without scanning every session kept for repeated hops.
CREATE INDEX ussd_sessions_live_updated ON ussd_sessions (updated_at) WHERE ended_at IS NULL;
CREATE INDEX ussd_sessions_live_started ON ussd_sessions (started_at) WHERE ended_at IS NULL;
CREATE INDEX ussd_sessions_ended ON ussd_sessions (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX web_sessions_live_seen ON web_sessions (last_seen_at) WHERE ended_at IS NULL;
CREATE INDEX web_sessions_live_created ON web_sessions (created_at) WHERE ended_at IS NULL;
CREATE INDEX web_sessions_ended ON web_sessions (ended_at) WHERE ended_at IS NOT NULL;
