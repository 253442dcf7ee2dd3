-- Q1: failure rate per operation type.
SELECT
    operation_type,
    count(*) AS operations,
    failure_rate(status) AS failure_rate
FROM operations
GROUP BY operation_type
ORDER BY operation_type NULLS LAST
