-- Intent trend: the distribution of intent scores per day, and how many accounts are "hot".
-- Reads: intent_scores
SELECT
    snapshot_date::DATE                         AS day,
    COUNT(*)                                    AS accounts_with_intent,
    ROUND(AVG(intent_score), 2)                 AS avg_intent,
    ROUND(QUANTILE_CONT(intent_score, 0.9), 2)  AS p90_intent,
    COUNT(*) FILTER (WHERE intent_score >= 50)  AS hot_accounts
FROM {{ ref('intent_scores') }}
GROUP BY ALL
ORDER BY day
