"""Decision tools built on the gap analysis: pure functions, tables in and tables out.

- :mod:`analysis.decision.portfolio`: a Mesa de Convergencia's portfolio against its gaps.
- :mod:`analysis.decision.eligibility`: Zonas Rezagadas eligibility emulated on open data.
- :mod:`analysis.decision.siting`: where new facilities reach the most people (spopt).
"""
