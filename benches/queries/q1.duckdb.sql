-- Q1: failure rate per operation type.
SELECT
    operation_type,
    count(*) AS operations,
    count(*) FILTER (WHERE status = 'failed')::DOUBLE
        / nullif(count(*) FILTER (WHERE status IN ('successful', 'failed')), 0) AS failure_rate
FROM operations
GROUP BY operation_type
ORDER BY operation_type NULLS LAST
