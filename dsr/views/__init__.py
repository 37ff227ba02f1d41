"""Web pages: the public self-service portal (public.py) and the privacy team's dashboard."""
