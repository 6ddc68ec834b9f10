"""The lifecycle report: each test's runs as plain data (``runs.py``), their lanes
(``lanes.py``), drawn as text in a failure report (``text.py``) or written as a JSON file
(``json_file.py``) and a self-contained HTML file (``html.py``, ``svg.py``); the pytest hooks
that collect it, also from xdist workers (``collect.py``), and the shard merge (``merge.py``).

Nothing here is imported until a report is asked for or a rule breaks.
"""
