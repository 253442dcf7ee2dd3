-- title: Stuck operations
-- description: Operations that were still queued, scheduled or in progress at
--   as_of although they had been created more than older_than before it:
--   those the data still shows unfinished, and those that finished only after
--   as_of. Oldest first, with their age in hours at as_of.
-- param: as_of timestamp(end) = latest  The moment to judge from (default: the latest timestamp in the data, so the answer does not depend on when it is run).
-- param: older_than duration = 24h  How long an unfinished operation may run before it counts as stuck (24h, 90m, or seconds).
SELECT
    id,
    device_id,
    operation_type,
    status,
    created_date_time,
    started_date_time,
    last_action_date_time,
    op_duration_seconds(created_date_time, $as_of) / 3600.0 AS age_hours
FROM operations
WHERE created_date_time <= $as_of - $older_than
    AND (
        status IN ('queued', 'scheduled', 'inProgress')
        OR (is_terminal(status) AND completed_date_time > $as_of)
    )
ORDER BY created_date_time, id
