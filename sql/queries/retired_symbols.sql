-- Daily checks: which of the bound symbols their stack no longer lists, and since when.
SELECT symbol, retired_at
FROM symbol_metadata
WHERE symbol = ANY(%(symbols)s) AND retired_at IS NOT NULL
ORDER BY symbol;
