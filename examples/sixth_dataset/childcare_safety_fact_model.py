

# The worked example of adding a dataset (CONTRIBUTING.md): this class is appended to
# warehouse/models.py (it needs that module's helpers; FACT_MODELS finds it by its
# `__dataset__`, and the loader reads from its columns which dimensions it references).
class FactChildcareSafety(Base):
    """Safety inspections at childcare sites. Grain: site × inspection date."""

    __dataset__ = "childcare_safety"
    __tablename__ = "fact_childcare_safety"
    __table_args__ = ({"schema": DW},)

    submission_key: Mapped[int] = _fact_submission()
    source_row: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    county_code: Mapped[str] = _fact_county()
    period: Mapped[str] = _fact_period()
    site_key: Mapped[int] = _fact_reference(sa.BigInteger, f"{DW}.dim_childcare_site.site_key")
    inspection_date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    inspection_date_key: Mapped[int] = _fact_reference(sa.Integer, f"{DW}.dim_date.date_key")
    hazards_found: Mapped[int] = _count()
    hazards_fixed: Mapped[int] = _count()
