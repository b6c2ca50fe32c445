-- The worked example of adding a dataset: this file goes to warehouse/marts/.
SELECT f.county_code,
       c.county_name,
       f.period AS season,
       CAST(COUNT(*) AS BIGINT) AS inspections,
       CAST(COUNT(DISTINCT f.site_key) AS BIGINT) AS sites_inspected,
       CAST(SUM(f.hazards_found) AS BIGINT) AS hazards_found,
       CAST(SUM(f.hazards_fixed) AS BIGINT) AS hazards_fixed,
       CASE WHEN SUM(f.hazards_found) = 0 THEN NULL
            ELSE CAST(SUM(f.hazards_fixed) AS DOUBLE PRECISION)
                 / CAST(SUM(f.hazards_found) AS DOUBLE PRECISION) END AS fixed_rate,
       c.county_order
FROM dw.fact_childcare_safety f
JOIN marts.mart_dim_county c ON c.county_code = f.county_code
GROUP BY f.county_code, c.county_name, f.period, c.county_order
