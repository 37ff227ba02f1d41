from tests.sources.platforms import meta  # noqa: F401  (the fixture)
