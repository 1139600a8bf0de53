"""A filing-facts schema a user might write for SEC filings (issue 20's second domain). Written on 2026-12-06
before any rule for filings; do not tune it. Gold values: ``bench/filings/gold.json`` (read by hand)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class FilingFacts(BaseModel):
    """Headline facts of a company filing."""

    company_name: str | None = Field(default=None, description="the registrant's legal name")
    fiscal_period_end: dt.date | None = Field(default=None, description="end of the period the statements cover")
    total_revenue: float | None = Field(default=None, description="total revenue or net sales of the period, in USD")
    net_income: float | None = Field(default=None, description="net income attributable to the company, in USD")
    total_assets: float | None = Field(default=None, description="total assets at the end of the period, in USD")
    diluted_eps: float | None = Field(default=None, description="diluted earnings per share, in USD")
    employees: int | None = Field(default=None, description="number of employees")
