"""Billing: a client's monthly statement of delivered units x unit price, as data, CSV and PDF.

``repository`` holds the SQL, ``service`` the rules (who may see what, the month, the money),
``pdf`` the printed statement and daily report (reportlab), ``routes`` the page and the API.
"""
