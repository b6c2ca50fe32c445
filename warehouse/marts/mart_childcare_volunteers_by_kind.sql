SELECT v.county_code,
       c.county_name,
       v.period AS season,
       p.period_kind AS season_kind,
       p.year,
       p.start_date AS season_start,
       v.source AS volunteer_kind,
       s.label_zh AS volunteer_kind_zh,
       v.is_university,
       v.volunteers,
       c.county_order,
       p.label_zh AS season_label_zh
FROM marts.int_childcare_volunteers_county_season_kind v
JOIN dw.dim_volunteer_source s ON s.source = v.source
JOIN marts.mart_dim_period p ON p.period = v.period
LEFT JOIN marts.mart_dim_county c ON c.county_code = v.county_code
