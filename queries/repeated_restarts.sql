-- title: Devices restarted repeatedly
-- description: Devices restarted at least min_restarts times within any span
--   of `within`: a device that keeps needing a restart is failing. Counts
--   restart operations (operation type deviceRestart, or restart in older
--   exports) by creation time, whatever their outcome, and shows how many of
--   them failed. Most restarts in one span first.
-- param: since timestamp = earliest  Restarts created at or after this.
-- param: until timestamp(end) = latest  Restarts created at or before this.
-- param: min_restarts int = 3  The number of restarts within one span that counts as repeated.
-- param: within duration = 24h  The length of the span.
WITH restarts AS (
    SELECT id, device_id, status, created_date_time AS at
    FROM operations
    WHERE lower(operation_type) IN ('devicerestart', 'restart')
        AND device_id IS NOT NULL
        AND created_date_time BETWEEN $since AND $until
),
spans AS (
    SELECT a.id, count(*) AS in_span
    FROM restarts a
    JOIN restarts b
        ON b.device_id = a.device_id AND b.at >= a.at AND b.at < a.at + $within
    GROUP BY a.id
)
SELECT
    r.device_id,
    max(s.in_span) AS most_in_span,
    count(*) AS restarts,
    count(*) FILTER (WHERE is_failed(r.status)) AS failed_restarts,
    min(r.at) AS first_restart,
    max(r.at) AS last_restart
FROM restarts r
JOIN spans s ON s.id = r.id
GROUP BY r.device_id
HAVING max(s.in_span) >= $min_restarts
ORDER BY most_in_span DESC, restarts DESC, r.device_id
