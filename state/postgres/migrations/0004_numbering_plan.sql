-- A subscriber's number is a key of the configured numbering plan (state/msisdn.py): a
-- country code and a national number, E.164 digits (7 to 15, no leading 0), no longer +375
-- alone.
ALTER TABLE subscribers DROP CONSTRAINT subscribers_msisdn_check;
ALTER TABLE subscribers ADD CONSTRAINT subscribers_msisdn_check
    CHECK (msisdn ~ '^[1-9][0-9]{6,14}$');
