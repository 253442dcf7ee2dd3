-- title: Recent failures
-- description: The latest failed operations, newest first, with their device,
--   error code and message, who triggered them and how long they ran: the
--   list to work through after an alert.
-- param: since timestamp = 7d  Operations created at or after this (default: 7 days before the latest timestamp in the data).
-- param: until timestamp(end) = latest  Operations created at or before this.
-- param: limit int = 50  At most this many operations.
SELECT
    id,
    device_id,
    operation_type,
    created_date_time,
    completed_date_time,
    error['code'] AS error_code,
    error['message'] AS error_message,
    coalesce(
        created_by['user']['display_name'],
        created_by['application']['display_name'],
        created_by['device']['display_name']
    ) AS created_by,
    op_duration_seconds(started_date_time, completed_date_time) AS duration_s
FROM operations
WHERE is_failed(status) AND created_date_time BETWEEN $since AND $until
ORDER BY created_date_time DESC, id
LIMIT $limit
