-- title: Error code breakdown
-- description: What failed operations report as their error: per error code,
--   the number of failures, their share of all failures, how many devices and
--   which operation types it hits, an example message and when it was first
--   and last seen. Failure is read from the status; a failed operation without
--   an error code is counted under a NULL code.
-- param: since timestamp = earliest  Operations created at or after this.
-- param: until timestamp(end) = latest  Operations created at or before this.
SELECT
    error['code'] AS error_code,
    count(*) AS failures,
    CAST(count(*) AS DOUBLE) / sum(count(*)) OVER () AS share,
    count(DISTINCT device_id) AS devices,
    string_agg(DISTINCT operation_type, ', ' ORDER BY operation_type) AS operation_types,
    min(error['message']) AS example_message,
    min(created_date_time) AS first_seen,
    max(created_date_time) AS last_seen
FROM operations
WHERE is_failed(status) AND created_date_time BETWEEN $since AND $until
GROUP BY 1
ORDER BY failures DESC, error_code NULLS LAST
