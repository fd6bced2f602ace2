-- The engine's own parts of a USSD session get columns of their own. The pages of a long
-- screen (and the one shown) were the keys "pages" and "page" of data, which is the menu
-- model's; the hop key was one text "length:tag" parsed back on every cumulative hop.
-- pages is a JSON array of the screen's pages, NULL while the screen fits one page.
ALTER TABLE ussd_sessions ADD COLUMN pages TEXT;
ALTER TABLE ussd_sessions ADD COLUMN page INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ussd_sessions ADD COLUMN last_hop_length INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ussd_sessions ADD COLUMN last_hop_tag TEXT NOT NULL DEFAULT '';
UPDATE ussd_sessions
SET pages = CASE WHEN json_type(data, '$.pages') = 'array' THEN json_extract(data, '$.pages') END,
    page = coalesce(json_extract(data, '$.page'), 0),
    data = json_remove(data, '$.pages', '$.page')
WHERE json_type(data, '$.pages') IS NOT NULL OR json_type(data, '$.page') IS NOT NULL;
-- A key without its "length:" (none was written so) keeps the whole text as its tag.
UPDATE ussd_sessions
SET last_hop_length = CAST(substr(last_hop_key, 1, instr(last_hop_key, ':') - 1) AS INTEGER),
    last_hop_tag = substr(last_hop_key, instr(last_hop_key, ':') + 1);
ALTER TABLE ussd_sessions DROP COLUMN last_hop_key;
