-- The engine's own parts of a USSD session get columns of their own (SQLite's 0006). The
-- pages of a long screen (and the one shown) were the keys "pages" and "page" of data,
-- which is the menu model's; the hop key was one text "length:tag" parsed back on every
-- cumulative hop. pages is a JSON array of the screen's pages, NULL while it fits one page.
ALTER TABLE ussd_sessions
    ADD COLUMN pages jsonb,
    ADD COLUMN page integer NOT NULL DEFAULT 0,
    ADD COLUMN last_hop_length integer NOT NULL DEFAULT 0,
    ADD COLUMN last_hop_tag text NOT NULL DEFAULT '';
UPDATE ussd_sessions
SET pages = CASE WHEN jsonb_typeof(data -> 'pages') = 'array' THEN data -> 'pages' END,
    page = coalesce((data ->> 'page')::integer, 0),
    data = data - 'pages' - 'page'
WHERE data ? 'pages' OR data ? 'page';
-- A key without its "length:" (none was written so) keeps the whole text as its tag.
UPDATE ussd_sessions
SET last_hop_length = CASE WHEN strpos(last_hop_key, ':') > 0
                           THEN split_part(last_hop_key, ':', 1)::integer ELSE 0 END,
    last_hop_tag = substr(last_hop_key, strpos(last_hop_key, ':') + 1);
ALTER TABLE ussd_sessions DROP COLUMN last_hop_key;
