WITH county_season AS (
    SELECT county_code, period FROM marts.int_childcare_sites_county_season
    UNION
    SELECT county_code, period FROM marts.int_childcare_volunteers_county_season
)
SELECT k.county_code,
       c.county_name,
       k.period AS season,
       p.period_kind AS season_kind,
       p.year AS year,
       p.start_date AS season_start,
       s.sites,
       s.children_enrolled,
       s.left_behind_children,
       s.relocated_children,
       v.volunteers_total,
       v.volunteers_university,
       v.volunteers_total - v.volunteers_university AS volunteers_other,
       CASE WHEN s.sites > 0
            THEN CAST(s.service_days AS DOUBLE PRECISION) / s.sites END AS avg_service_days,
       prev.children_enrolled AS children_enrolled_prev_year,
       s.children_enrolled - prev.children_enrolled AS children_yoy_change,
       CASE WHEN prev.children_enrolled > 0
            THEN CAST(s.children_enrolled - prev.children_enrolled AS DOUBLE PRECISION) * 100
                 / prev.children_enrolled END AS children_yoy_pct,
       c.county_order,
       p.label_zh AS season_label_zh
FROM county_season k
JOIN marts.mart_dim_period p ON p.period = k.period
LEFT JOIN marts.mart_dim_county c ON c.county_code = k.county_code
LEFT JOIN marts.int_childcare_sites_county_season s
       ON s.county_code = k.county_code AND s.period = k.period
LEFT JOIN marts.int_childcare_volunteers_county_season v
       ON v.county_code = k.county_code AND v.period = k.period
LEFT JOIN marts.int_childcare_sites_county_season prev
       ON prev.county_code = k.county_code AND prev.period = p.prev_year_period
