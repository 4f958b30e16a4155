-- Agent performance: what each agent produced per day (SCOUT finds, COACH prioritizes, OPERATOR sends).
-- Reads: intent_signals, lead_scores, outbound_log
SELECT snapshot_date::DATE AS day, 'SCOUT' AS agent, 'intent signals found' AS measure, COUNT(*)::DOUBLE AS value
FROM {{ ref('intent_signals') }} GROUP BY ALL
UNION ALL
SELECT snapshot_date::DATE, 'COACH', 'leads prioritized High', COUNT(*) FILTER (WHERE priority = 'High')::DOUBLE
FROM {{ ref('lead_scores') }} GROUP BY ALL
UNION ALL
SELECT snapshot_date::DATE, 'COACH', 'leads scored', COUNT(*)::DOUBLE
FROM {{ ref('lead_scores') }} GROUP BY ALL
UNION ALL
SELECT snapshot_date::DATE, 'OPERATOR', 'messages ' || status, COUNT(*)::DOUBLE
FROM {{ ref('outbound_log') }} GROUP BY ALL
ORDER BY 1, 2, 3
