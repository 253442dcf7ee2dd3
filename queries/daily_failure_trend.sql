-- title: Daily failure trend per operation type
-- description: Day by day (UTC) and per operation type: operations created,
--   how many failed and the failure rate, to spot a bad rollout or a day when
--   the fleet went wrong.
-- param: since timestamp = 30d  Operations created at or after this (default: 30 days before the latest timestamp in the data).
-- param: until timestamp(end) = latest  Operations created at or before this.
SELECT
    CAST(date_trunc('day', created_date_time) AS DATE) AS day,
    operation_type,
    count(*) AS operations,
    count(*) FILTER (WHERE status = 'successful') AS successful,
    count(*) FILTER (WHERE is_failed(status)) AS failed,
    failure_rate(status) AS failure_rate
FROM operations
WHERE created_date_time BETWEEN $since AND $until
GROUP BY 1, 2
ORDER BY day, operation_type NULLS LAST
