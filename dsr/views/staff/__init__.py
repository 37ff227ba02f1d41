"""The privacy team's pages: login with a second factor, the queue, a request's page, intake, statistics."""
