-- title: Queue latency
-- description: How long operations wait between being created and starting,
--   per operation type: the exact median and 95th percentile, the maximum, and
--   how many waited longer than slow_after_s. A long wait points at offline
--   devices or a maintenance window. Longest p95 first.
-- param: since timestamp = earliest  Operations created at or after this.
-- param: until timestamp(end) = latest  Operations created at or before this.
-- param: slow_after_s float = 300  A wait longer than this many seconds counts as slow.
WITH waits AS (
    SELECT
        operation_type,
        op_queue_seconds(created_date_time, started_date_time) AS queue_s
    FROM operations
    WHERE created_date_time BETWEEN $since AND $until
)
SELECT
    operation_type,
    count(queue_s) AS started,
    op_percentile(queue_s, 0.5) AS p50_queue_s,
    op_percentile(queue_s, 0.95) AS p95_queue_s,
    max(queue_s) AS max_queue_s,
    count(*) FILTER (WHERE queue_s > $slow_after_s) AS slow_starts
FROM waits
GROUP BY operation_type
HAVING count(queue_s) > 0
ORDER BY p95_queue_s DESC, operation_type NULLS LAST
