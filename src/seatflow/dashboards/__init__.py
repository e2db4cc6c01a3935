"""Dashboards: throughput, handling time, backlog age, SLA attainment and quality per client,
project, team or worker (``service``), their SQL (``repository``), the page and the JSON API
(``routes``), and the daily report per client (``daily``)."""
