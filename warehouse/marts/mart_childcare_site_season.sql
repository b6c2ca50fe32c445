WITH attendance AS (
    SELECT f.county_code, f.period, s.site_code,
           COUNT(*) AS days_reported,
           CAST(SUM(f.children_present) AS BIGINT) AS child_days_present
    FROM dw.fact_childcare_daily f
    JOIN dw.dim_childcare_site s ON s.site_key = f.site_key
    GROUP BY f.county_code, f.period, s.site_code
), volunteers AS (
    SELECT f.county_code, f.period, s.site_code,
           CAST(SUM(f.volunteers) AS BIGINT) AS volunteers_total,
           CAST(SUM(CASE WHEN v.is_university THEN f.volunteers ELSE 0 END) AS BIGINT)
               AS volunteers_university
    FROM dw.fact_childcare_volunteers f
    JOIN dw.dim_childcare_site s ON s.site_key = f.site_key
    JOIN dw.dim_volunteer_source v ON v.source = f.source
    GROUP BY f.county_code, f.period, s.site_code
)
SELECT f.county_code,
       c.county_name,
       f.period AS season,
       s.site_code,
       s.site_name,
       s.township,
       s.host_type,
       f.start_date,
       f.end_date,
       f.service_days,
       f.hours_per_day,
       f.meal_subsidy_yuan,
       f.children_enrolled,
       f.left_behind_children,
       f.relocated_children,
       f.service_person_times,
       v.volunteers_total,
       v.volunteers_university,
       a.days_reported,
       CASE WHEN a.days_reported > 0
            THEN CAST(a.child_days_present AS DOUBLE PRECISION) / a.days_reported
       END AS avg_children_present,
       CASE WHEN a.days_reported > 0 AND f.children_enrolled > 0
            THEN CAST(a.child_days_present AS DOUBLE PRECISION)
                 / (a.days_reported * f.children_enrolled)
       END AS attendance_rate,
       c.county_order,
       p.start_date AS season_start
FROM dw.fact_childcare_site_season f
JOIN dw.dim_childcare_site s ON s.site_key = f.site_key
JOIN marts.mart_dim_period p ON p.period = f.period
LEFT JOIN marts.mart_dim_county c ON c.county_code = f.county_code
LEFT JOIN attendance a
       ON a.county_code = f.county_code AND a.period = f.period AND a.site_code = s.site_code
LEFT JOIN volunteers v
       ON v.county_code = f.county_code AND v.period = f.period AND v.site_code = s.site_code
