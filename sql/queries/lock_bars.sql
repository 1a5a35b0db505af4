-- Serialise the imports of one symbol and timeframe until the importing transaction ends, so a
-- concurrent import compares its file against this one's committed bars. SELECT ... FOR UPDATE
-- cannot lock bars that do not exist yet, and ON CONFLICT DO NOTHING would then drop the loser's
-- rows while both imports report them as new. (22001: this lock's own key space.)
SELECT pg_advisory_xact_lock(22001, hashtext(%(symbol)s::text || '/' || %(timeframe)s::text));
