-- Volunteers per county, season and kind (source); the county and city totals sum it.
SELECT f.county_code,
       f.period,
       f.source,
       s.is_university,
       CAST(SUM(f.volunteers) AS BIGINT) AS volunteers
FROM dw.fact_childcare_volunteers f
JOIN dw.dim_volunteer_source s ON s.source = f.source
GROUP BY f.county_code, f.period, f.source, s.is_university
