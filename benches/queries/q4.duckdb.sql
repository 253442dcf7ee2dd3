-- Q4: the 20 devices with the most failed operations.
SELECT
    device_id,
    count(*) FILTER (WHERE status = 'failed') AS failures,
    count(*) AS operations,
    count(*) FILTER (WHERE status = 'failed')::DOUBLE
        / nullif(count(*) FILTER (WHERE status IN ('successful', 'failed')), 0) AS failure_rate
FROM operations
GROUP BY device_id
ORDER BY failures DESC, device_id NULLS LAST
LIMIT 20
