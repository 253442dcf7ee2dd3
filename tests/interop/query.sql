SELECT id, device_id, operation_type, status, status_raw,
       created_date_time, completed_date_time,
       op_duration_seconds(started_date_time, completed_date_time) AS duration_s,
       error, created_by
FROM operations
ORDER BY id
