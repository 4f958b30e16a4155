-- Funnel: deals per stage and status on each snapshot day, with value.
-- Reads: ghl_opportunities
SELECT
    snapshot_date::DATE                      AS day,
    COALESCE(stage_name, '(unknown)')        AS stage_name,
    status,
    COUNT(*)                                 AS deals,
    ROUND(SUM(COALESCE(monetary_value, 0)), 2) AS pipeline_value
FROM {{ ref('ghl_opportunities') }}
GROUP BY ALL
ORDER BY day, stage_name, status
