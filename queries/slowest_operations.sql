-- title: Slowest operations
-- description: How long each operation type runs, from start to completion:
--   the exact median, 95th percentile (linear interpolation between ranks) and
--   maximum, with the slowest operation and its device. Slowest p95 first.
-- param: since timestamp = earliest  Operations created at or after this.
-- param: until timestamp(end) = latest  Operations created at or before this.
WITH timed AS (
    SELECT
        id,
        device_id,
        operation_type,
        op_duration_seconds(started_date_time, completed_date_time) AS duration_s
    FROM operations
    WHERE created_date_time BETWEEN $since AND $until
)
SELECT
    operation_type,
    count(duration_s) AS finished,
    op_percentile(duration_s, 0.5) AS p50_duration_s,
    op_percentile(duration_s, 0.95) AS p95_duration_s,
    max(duration_s) AS max_duration_s,
    first_value(id ORDER BY duration_s DESC NULLS LAST, id) AS slowest_id,
    first_value(device_id ORDER BY duration_s DESC NULLS LAST, id) AS slowest_device_id
FROM timed
GROUP BY operation_type
HAVING count(duration_s) > 0
ORDER BY p95_duration_s DESC, operation_type NULLS LAST
