-- Q3: daily (UTC) failure rate per operation type over the last 30 days of data.
-- The session time zone is UTC, so days are UTC days.
SELECT
    CAST(date_trunc('day', created_date_time) AS DATE) AS day,
    operation_type,
    count(*) AS operations,
    count(*) FILTER (WHERE status = 'failed')::DOUBLE
        / nullif(count(*) FILTER (WHERE status IN ('successful', 'failed')), 0) AS failure_rate
FROM operations
WHERE created_date_time >= (SELECT max(created_date_time) FROM operations) - INTERVAL '30 days'
GROUP BY 1, 2
ORDER BY day, operation_type NULLS LAST
