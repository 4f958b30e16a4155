-- Pipeline velocity by stage: how long open deals have sat in their current stage, and how long since
-- anything happened, per snapshot day.
-- Reads: ghl_opportunities
SELECT
    snapshot_date::DATE                                                         AS day,
    stage_name,
    COUNT(*)                                                                    AS open_deals,
    ROUND(MEDIAN(date_diff('hour', stage_entered_at, snapshot_date::TIMESTAMPTZ + INTERVAL 1 DAY) / 24.0), 1) AS median_days_in_stage,
    ROUND(AVG(date_diff('hour', last_activity_at, snapshot_date::TIMESTAMPTZ + INTERVAL 1 DAY) / 24.0), 1)   AS avg_days_since_activity
FROM {{ ref('ghl_opportunities') }}
WHERE status = 'open'
GROUP BY ALL
ORDER BY day, stage_name
