-- Q2: median and 95th percentile duration (seconds) per operation type.
WITH durations AS (
    SELECT
        operation_type,
        CASE WHEN completed_date_time >= started_date_time
             THEN (epoch_us(completed_date_time) - epoch_us(started_date_time)) / 1e6 END AS duration_s
    FROM operations
),
quantiles AS (
    SELECT
        operation_type,
        count(duration_s) AS timed,
        quantile_cont(duration_s, [0.5, 0.95]) AS q
    FROM durations
    GROUP BY operation_type
)
SELECT operation_type, timed, q[1] AS p50_duration_s, q[2] AS p95_duration_s
FROM quantiles
ORDER BY operation_type NULLS LAST
