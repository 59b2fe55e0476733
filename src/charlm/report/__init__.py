"""The report stage's work, by job: load every input (load.py), compare the entries (compare/), draw the charts
(draw/), render the pages (render/); run.build_report does the four in that order."""
