"""Decision tools built on the gap analysis: pure functions, tables in and tables out.

- :mod:`analysis.decision.portfolio`: a Mesa de Convergencia's portfolio against its gaps.
- :mod:`analysis.decision.eligibility`: Zonas Rezagadas eligibility emulated on open data.
- :mod:`analysis.decision.isolation`: SUBDERE's isolation index emulated on the travel-time
  surfaces, its threshold curve and calibration.
- :mod:`analysis.decision.siting`: where new facilities reach the most people (spopt).
"""
