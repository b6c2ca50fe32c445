-- Every reporting period with a date axis: school years and seasons get their first day.
SELECT p.period,
       p.kind AS period_kind,
       p.year,
       p.start_date,
       p.end_date,
       CASE p.kind
           WHEN 'school_year' THEN CAST(p.year AS VARCHAR) || '—'
                                   || CAST(p.year + 1 AS VARCHAR) || '学年'
           WHEN 'summer' THEN CAST(p.year AS VARCHAR) || '年暑期'
           WHEN 'winter' THEN CAST(p.year AS VARCHAR) || '年寒假'
           ELSE CAST(p.year AS VARCHAR) || '年'
                || CAST(CAST(SUBSTR(p.period, 6, 2) AS INTEGER) AS VARCHAR) || '月'
       END AS label_zh,
       CASE p.kind
           WHEN 'school_year' THEN 'School year ' || CAST(p.year AS VARCHAR) || '/'
                                   || SUBSTR(CAST(p.year + 1 AS VARCHAR), 3, 2)
           WHEN 'summer' THEN 'Summer ' || CAST(p.year AS VARCHAR)
           WHEN 'winter' THEN 'Winter ' || CAST(p.year AS VARCHAR)
           ELSE CASE SUBSTR(p.period, 6, 2)
                    WHEN '01' THEN 'Jan' WHEN '02' THEN 'Feb' WHEN '03' THEN 'Mar'
                    WHEN '04' THEN 'Apr' WHEN '05' THEN 'May' WHEN '06' THEN 'Jun'
                    WHEN '07' THEN 'Jul' WHEN '08' THEN 'Aug' WHEN '09' THEN 'Sep'
                    WHEN '10' THEN 'Oct' WHEN '11' THEN 'Nov' ELSE 'Dec'
                END || ' ' || CAST(p.year AS VARCHAR)
       END AS label_en,
       (CAST(EXTRACT(YEAR FROM p.start_date) AS BIGINT) * 10000
        + CAST(EXTRACT(MONTH FROM p.start_date) AS BIGINT) * 100
        + CAST(EXTRACT(DAY FROM p.start_date) AS BIGINT)) * 10
       + CASE p.kind WHEN 'month' THEN 1 WHEN 'school_year' THEN 3 ELSE 2 END AS sort_key,
       p.prev_year_period
FROM dw.dim_period p
