from tests.sources.platforms import google  # noqa: F401  (the fixture)
