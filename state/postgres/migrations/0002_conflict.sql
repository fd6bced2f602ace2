-- A one-statement commit (state/postgres/statement.py) ends in a SELECT that calls this
-- when one of its checks found no row (a version that moved, a row another writer created
-- first). The error aborts the whole statement, so nothing of the commit is written; its
-- SQLSTATE UG409 (a class of its own: no PostgreSQL error has it) and DETAIL, the number of
-- the part that missed, let the store raise that part's ConcurrentUpdate.
CREATE FUNCTION ussd_conflict(part integer) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'UG409',
        MESSAGE = 'a check of a one-statement commit found no row',
        DETAIL = part::text;
END
$$;
