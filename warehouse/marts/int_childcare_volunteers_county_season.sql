-- Volunteers per county and season: all kinds, and university students.
SELECT county_code,
       period,
       CAST(SUM(volunteers) AS BIGINT) AS volunteers_total,
       CAST(SUM(CASE WHEN is_university THEN volunteers ELSE 0 END) AS BIGINT)
           AS volunteers_university
FROM marts.int_childcare_volunteers_county_season_kind
GROUP BY county_code, period
