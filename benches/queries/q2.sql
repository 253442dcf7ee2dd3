-- Q2: median and 95th percentile duration (seconds) per operation type.
SELECT
    operation_type,
    count(op_duration_seconds(started_date_time, completed_date_time)) AS timed,
    op_percentile(op_duration_seconds(started_date_time, completed_date_time), 0.5) AS p50_duration_s,
    op_percentile(op_duration_seconds(started_date_time, completed_date_time), 0.95) AS p95_duration_s
FROM operations
GROUP BY operation_type
ORDER BY operation_type NULLS LAST
