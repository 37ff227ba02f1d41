"""The engine is tested on the rights' test company: real shop and Chinook databases, the chats, an ad partner."""

from tests.rights.conftest import (  # noqa: F401  (the fixtures, reused)
    chinook_sqlite,
    company,
    file,
    processor,
    run,
    staff,
)
