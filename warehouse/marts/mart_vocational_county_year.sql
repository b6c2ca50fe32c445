SELECT a.county_code,
       c.county_name,
       p.year AS school_year,
       a.schools,
       a.enrolled,
       a.new_intake,
       a.dropouts,
       CASE WHEN a.enrolled > 0
            THEN CAST(a.dropouts AS DOUBLE PRECISION) / a.enrolled END AS dropout_rate,
       prev.new_intake AS new_intake_prev_year,
       a.new_intake - prev.new_intake AS new_intake_yoy_change,
       CASE WHEN prev.new_intake > 0
            THEN CAST(a.new_intake - prev.new_intake AS DOUBLE PRECISION) * 100
                 / prev.new_intake END AS new_intake_yoy_pct,
       c.county_order,
       p.start_date AS school_year_start,
       p.label_zh AS school_year_label_zh
FROM marts.int_vocational_county_year a
JOIN marts.mart_dim_period p ON p.period = a.period
LEFT JOIN marts.mart_dim_county c ON c.county_code = a.county_code
LEFT JOIN marts.int_vocational_county_year prev
       ON prev.county_code = a.county_code AND prev.period = p.prev_year_period
