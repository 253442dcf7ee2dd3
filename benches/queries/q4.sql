-- Q4: the 20 devices with the most failed operations.
SELECT
    device_id,
    count(*) FILTER (WHERE is_failed(status)) AS failures,
    count(*) AS operations,
    failure_rate(status) AS failure_rate
FROM operations
GROUP BY device_id
ORDER BY failures DESC, device_id NULLS LAST
LIMIT 20
