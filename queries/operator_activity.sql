-- title: Operator activity
-- description: Who triggers what, and how often it fails: per operator (the
--   user, application or device in created_by) and operation type, the number
--   of operations, failures and the failure rate, with the operator's total.
--   Busiest operators first.
-- param: since timestamp = earliest  Operations created at or after this.
-- param: until timestamp(end) = latest  Operations created at or before this.
WITH triggered AS (
    SELECT
        CASE
            WHEN created_by['user']['id'] IS NOT NULL OR created_by['user']['display_name'] IS NOT NULL THEN 'user'
            WHEN created_by['application']['id'] IS NOT NULL OR created_by['application']['display_name'] IS NOT NULL THEN 'application'
            WHEN created_by['device']['id'] IS NOT NULL OR created_by['device']['display_name'] IS NOT NULL THEN 'device'
            ELSE 'unknown'
        END AS operator_kind,
        coalesce(
            created_by['user']['display_name'], created_by['user']['id'],
            created_by['application']['display_name'], created_by['application']['id'],
            created_by['device']['display_name'], created_by['device']['id'],
            '(unknown)'
        ) AS operator,
        operation_type,
        status
    FROM operations
    WHERE created_date_time BETWEEN $since AND $until
)
SELECT
    operator,
    operator_kind,
    operation_type,
    count(*) AS operations,
    count(*) FILTER (WHERE is_failed(status)) AS failed,
    failure_rate(status) AS failure_rate,
    sum(count(*)) OVER (PARTITION BY operator, operator_kind) AS operator_total
FROM triggered
GROUP BY operator, operator_kind, operation_type
ORDER BY operator_total DESC, operator, operator_kind, operations DESC, operation_type NULLS LAST
