"""The report's pages: reports/report.md (page.py, from the sections of rankings.py, mixtures.py and bits.py),
the coloured passages' HTML (html.py) and metrics/summary.json (summary.py)."""
