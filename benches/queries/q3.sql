-- Q3: daily (UTC) failure rate per operation type over the last 30 days of data.
SELECT
    CAST(date_trunc('day', created_date_time) AS DATE) AS day,
    operation_type,
    count(*) AS operations,
    failure_rate(status) AS failure_rate
FROM operations
WHERE created_date_time >= (SELECT max(created_date_time) FROM operations) - INTERVAL '30 days'
GROUP BY 1, 2
ORDER BY day, operation_type NULLS LAST
