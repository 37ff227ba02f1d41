"""The `google_ads` connector kind: removing people from Google Ads Customer Match lists (README.md says how)."""

from dsr.sources.google_ads.connector import GoogleAdsConnector

__all__ = ["GoogleAdsConnector"]
