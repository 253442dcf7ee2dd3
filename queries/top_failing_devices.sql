-- title: Top failing devices
-- description: The devices with the most failed operations, with their
--   failure rate, their most frequent error code and when they last failed.
--   Operations whose device is unknown are grouped under a NULL device_id.
-- param: since timestamp = earliest  Operations created at or after this.
-- param: until timestamp(end) = latest  Operations created at or before this.
-- param: min_failures int = 1  Leave out devices with fewer failed operations.
-- param: limit int = 10  At most this many devices.
WITH scoped AS (
    SELECT device_id, status, error['code'] AS error_code, created_date_time
    FROM operations
    WHERE created_date_time BETWEEN $since AND $until
),
codes AS (
    SELECT
        device_id,
        coalesce(error_code, '(no code)') AS error_code,
        count(*) AS failures,
        row_number() OVER (
            PARTITION BY device_id
            ORDER BY count(*) DESC, coalesce(error_code, '(no code)')
        ) AS rank
    FROM scoped
    WHERE is_failed(status)
    GROUP BY 1, 2
),
devices AS (
    SELECT
        device_id,
        count(*) AS operations,
        count(*) FILTER (WHERE is_failed(status)) AS failed,
        failure_rate(status) AS failure_rate,
        max(created_date_time) FILTER (WHERE is_failed(status)) AS last_failure
    FROM scoped
    GROUP BY device_id
)
SELECT
    d.device_id,
    d.operations,
    d.failed,
    d.failure_rate,
    c.error_code AS top_error_code,
    c.failures AS top_error_failures,
    d.last_failure
FROM devices d
LEFT JOIN codes c
    ON (c.device_id IS NOT DISTINCT FROM d.device_id) AND c.rank = 1
WHERE d.failed >= $min_failures AND d.failed > 0
ORDER BY d.failed DESC, d.failure_rate DESC, d.device_id NULLS LAST
LIMIT $limit
