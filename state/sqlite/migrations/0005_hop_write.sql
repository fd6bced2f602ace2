-- Every hop rewrites its session's updated_at, so every index on it is rewritten too. The
-- sweepers use the partial indexes of 0004; nothing reads this one any more.
DROP INDEX IF EXISTS ussd_sessions_updated;
