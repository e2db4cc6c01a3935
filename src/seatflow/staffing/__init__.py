"""Staffing for peaks: queueing formulas (``erlang``), arrival forecasts (``forecast``), shift plans
(``shifts``) and the plan that ties them together (``plan``)."""
