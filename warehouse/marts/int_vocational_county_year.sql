-- Vocational enrolment totals per county and school year (shared by the county and city marts).
SELECT f.county_code,
       f.period,
       COUNT(DISTINCT s.school_code) AS schools,
       CAST(SUM(f.enrolled) AS BIGINT) AS enrolled,
       CAST(SUM(f.new_intake) AS BIGINT) AS new_intake,
       CAST(SUM(f.dropouts) AS BIGINT) AS dropouts
FROM dw.fact_vocational_enrollment f
JOIN dw.dim_school s ON s.school_key = f.school_key
GROUP BY f.county_code, f.period
