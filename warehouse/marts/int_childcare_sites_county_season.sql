-- Site registry totals per county and season (shared by the county and city marts).
SELECT county_code,
       period,
       COUNT(*) AS sites,
       CAST(SUM(children_enrolled) AS BIGINT) AS children_enrolled,
       CAST(SUM(left_behind_children) AS BIGINT) AS left_behind_children,
       CAST(SUM(relocated_children) AS BIGINT) AS relocated_children,
       CAST(SUM(service_days) AS BIGINT) AS service_days
FROM dw.fact_childcare_site_season
GROUP BY county_code, period
