-- title: Failure rate by operation type
-- description: Which kinds of operation fail most often. One row per operation
--   type with its counts by status and failure_rate = failed / (successful +
--   failed); cancelled and unfinished operations do not count towards the rate.
--   Worst first.
-- param: since timestamp = earliest  Operations created at or after this (a date, a timestamp, or a span back from the latest timestamp in the data such as 30d).
-- param: until timestamp(end) = latest  Operations created at or before this.
-- param: min_finished int = 1  Leave out operation types with fewer successful + failed operations.
SELECT
    operation_type,
    count(*) AS operations,
    count(*) FILTER (WHERE status = 'successful') AS successful,
    count(*) FILTER (WHERE is_failed(status)) AS failed,
    count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
    count(*) FILTER (WHERE status IN ('queued', 'scheduled', 'inProgress')) AS in_flight,
    failure_rate(status) AS failure_rate
FROM operations
WHERE created_date_time BETWEEN $since AND $until
GROUP BY operation_type
HAVING count(*) FILTER (WHERE status IN ('successful', 'failed')) >= $min_finished
ORDER BY failure_rate DESC NULLS LAST, failed DESC, operation_type NULLS LAST
