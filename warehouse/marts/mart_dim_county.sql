-- The city's counties in their official order (the order of their administrative codes).
SELECT c.county_code,
       c.county_name,
       c.short_name,
       c.pinyin,
       ROW_NUMBER() OVER (ORDER BY c.county_code) AS county_order,
       c.city_code,
       c.city_name
FROM dw.dim_county c
