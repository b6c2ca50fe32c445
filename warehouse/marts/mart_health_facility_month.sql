SELECT d.facility_code,
       d.facility_name,
       f.county_code,
       c.county_name,
       f.period AS month,
       p.start_date AS month_start,
       COUNT(*) AS departments,
       CAST(SUM(f.beds_open) AS BIGINT) AS beds_open,
       CAST(SUM(f.surgeries) AS BIGINT) AS surgeries,
       CAST(SUM(f.interventional_procedures) AS BIGINT) AS interventional_procedures,
       CAST(SUM(f.outpatient_visits) AS BIGINT) AS outpatient_visits,
       CAST(SUM(f.inpatient_admissions) AS BIGINT) AS inpatient_admissions,
       CAST(SUM(f.resident_experts) AS BIGINT) AS resident_experts,
       CAST(SUM(f.experts_dispatched) AS BIGINT) AS experts_dispatched,
       CAST(SUM(f.visiting_experts) AS BIGINT) AS visiting_experts,
       CAST(SUM(f.local_surgeons_independent) AS BIGINT) AS local_surgeons_independent,
       CAST(SUM(f.returned_patients) AS BIGINT) AS returned_patients,
       c.county_order
FROM dw.fact_health_monthly f
JOIN dw.dim_health_facility d ON d.facility_key = f.facility_key
JOIN marts.mart_dim_period p ON p.period = f.period
LEFT JOIN marts.mart_dim_county c ON c.county_code = f.county_code
GROUP BY d.facility_code, d.facility_name, f.county_code, c.county_name, c.county_order,
         f.period, p.start_date
