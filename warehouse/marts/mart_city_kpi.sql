-- City-wide aggregates, one CTE per domain (childcare per season, vocational per school
-- year, health per month). The metric rows, one per metric × period, are generated from
-- the catalogue metrics.toml and appended to this WITH clause (warehouse.marts.city_kpi_sql).
WITH cc_sites AS (
    SELECT period,
           CAST(SUM(sites) AS BIGINT) AS sites,
           COUNT(DISTINCT county_code) AS counties_reporting,
           CAST(SUM(children_enrolled) AS BIGINT) AS children_enrolled,
           CAST(SUM(left_behind_children) AS BIGINT) AS left_behind_children,
           CAST(SUM(relocated_children) AS BIGINT) AS relocated_children,
           CAST(SUM(service_days) AS BIGINT) AS service_days
    FROM marts.int_childcare_sites_county_season
    GROUP BY period
), cc_volunteers AS (
    SELECT period,
           CAST(SUM(volunteers_total) AS BIGINT) AS volunteers_total,
           CAST(SUM(volunteers_university) AS BIGINT) AS volunteers_university
    FROM marts.int_childcare_volunteers_county_season
    GROUP BY period
), cc_seasons AS (
    SELECT period FROM cc_sites UNION SELECT period FROM cc_volunteers
), childcare AS (
    SELECT k.period, s.sites, s.counties_reporting, s.children_enrolled,
           s.left_behind_children, s.relocated_children, s.service_days,
           v.volunteers_total, v.volunteers_university,
           prev.children_enrolled AS children_prev
    FROM cc_seasons k
    JOIN dw.dim_period p ON p.period = k.period
    LEFT JOIN cc_sites s ON s.period = k.period
    LEFT JOIN cc_volunteers v ON v.period = k.period
    LEFT JOIN cc_sites prev ON prev.period = p.prev_year_period
), voc_schools AS (
    SELECT f.period, COUNT(DISTINCT s.school_code) AS schools
    FROM dw.fact_vocational_enrollment f
    JOIN dw.dim_school s ON s.school_key = f.school_key
    GROUP BY f.period
), voc_year AS (
    SELECT y.period, n.schools,
           CAST(SUM(y.enrolled) AS BIGINT) AS enrolled,
           CAST(SUM(y.new_intake) AS BIGINT) AS new_intake,
           CAST(SUM(y.dropouts) AS BIGINT) AS dropouts
    FROM marts.int_vocational_county_year y
    JOIN voc_schools n ON n.period = y.period
    GROUP BY y.period, n.schools
), vocational AS (
    SELECT y.period, y.schools, y.enrolled, y.new_intake, y.dropouts,
           prev.new_intake AS new_intake_prev
    FROM voc_year y
    JOIN dw.dim_period p ON p.period = y.period
    LEFT JOIN voc_year prev ON prev.period = p.prev_year_period
), health_month AS (
    SELECT f.period,
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
           COUNT(DISTINCT h.facility_code) AS facilities_reporting,
           COUNT(DISTINCT d.department) AS departments_total,
           COUNT(DISTINCT CASE WHEN d.department_group = 'internal' THEN d.department END)
               AS departments_internal,
           COUNT(DISTINCT CASE WHEN d.department_group = 'surgical' THEN d.department END)
               AS departments_surgical
    FROM dw.fact_health_monthly f
    JOIN dw.dim_health_facility h ON h.facility_key = f.facility_key
    JOIN dw.dim_department d ON d.department_key = f.department_key
    GROUP BY f.period
), health AS (
    SELECT health_month.*,
           CAST(SUM(surgeries) OVER (ORDER BY period ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) AS surgeries_cumulative,
           CAST(SUM(experts_dispatched) OVER (ORDER BY period ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) AS experts_dispatched_cumulative,
           CAST(SUM(visiting_experts) OVER (ORDER BY period ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) AS visiting_experts_cumulative
    FROM health_month
)
