"""Server-rendered pages (Jinja2) and the app's own static assets (no CDN)."""
