WITH ranked AS (
    SELECT a.*,
           ROW_NUMBER() OVER (
               PARTITION BY a.county_code, a.dataset, a.period
               ORDER BY a.modified_at DESC, a.file_name DESC, a.submission_id DESC
           ) AS recency
    FROM audit.audit_submission a
), received AS (
    SELECT county_code, dataset, period,
           COUNT(*) AS submissions_received,
           MIN(CASE WHEN status <> 'rejected' THEN modified_at END) AS first_delivered_at
    FROM audit.audit_submission
    GROUP BY county_code, dataset, period
), current_accepted AS (
    SELECT county_code, dataset, period, submission_id, rows_loaded
    FROM audit.audit_submission
    WHERE status IN ('accepted', 'accepted_with_warnings')
), partitions AS (
    SELECT county_code, dataset, period FROM dw.ref_calendar
    UNION
    SELECT county_code, dataset, period FROM audit.audit_submission
)
SELECT k.county_code,
       c.county_name,
       k.dataset,
       k.period,
       COALESCE(l.status, 'missing') AS status,
       ca.submission_id AS current_submission_id,
       l.modified_at AS received_at,
       cal.due_date,
       CASE WHEN cal.due_date IS NULL THEN NULL
            WHEN r.first_delivered_at IS NOT NULL
                 THEN CAST(r.first_delivered_at + INTERVAL '8 hours' AS DATE) <= cal.due_date
            WHEN CAST(CURRENT_TIMESTAMP AT TIME ZONE 'Asia/Shanghai' AS DATE) > cal.due_date
                 THEN FALSE
       END AS on_time,
       l.rows_loaded,
       l.rows_rejected,
       l.warnings,
       COALESCE(r.submissions_received, 0) AS submissions_received,
       cal.due_date IS NOT NULL AS expected,
       ca.rows_loaded AS current_rows_loaded,
       c.county_order,
       pp.start_date AS period_start,
       CAST(l.modified_at + INTERVAL '8 hours' AS DATE) AS received_date,
       CAST(r.first_delivered_at + INTERVAL '8 hours' AS DATE) AS first_usable_date,
       CASE WHEN cal.due_date IS NULL THEN NULL
            WHEN r.first_delivered_at IS NOT NULL
                 THEN CASE WHEN CAST(r.first_delivered_at + INTERVAL '8 hours' AS DATE) > cal.due_date
                           THEN CAST(CAST(r.first_delivered_at + INTERVAL '8 hours' AS DATE)
                                     - cal.due_date AS BIGINT)
                           ELSE 0 END
            WHEN CAST(CURRENT_TIMESTAMP AT TIME ZONE 'Asia/Shanghai' AS DATE) > cal.due_date
                 THEN CAST(CAST(CURRENT_TIMESTAMP AT TIME ZONE 'Asia/Shanghai' AS DATE)
                           - cal.due_date AS BIGINT)
       END AS days_late
FROM partitions k
LEFT JOIN marts.mart_dim_county c ON c.county_code = k.county_code
LEFT JOIN marts.mart_dim_period pp ON pp.period = k.period
LEFT JOIN ranked l
       ON l.county_code = k.county_code AND l.dataset = k.dataset AND l.period = k.period
      AND l.recency = 1
LEFT JOIN received r
       ON r.county_code = k.county_code AND r.dataset = k.dataset AND r.period = k.period
LEFT JOIN current_accepted ca
       ON ca.county_code = k.county_code AND ca.dataset = k.dataset AND ca.period = k.period
LEFT JOIN dw.ref_calendar cal
       ON cal.county_code = k.county_code AND cal.dataset = k.dataset AND cal.period = k.period
