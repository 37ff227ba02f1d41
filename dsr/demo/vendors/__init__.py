"""Local stand-ins for SaaS systems' APIs, answering as each vendor's public API reference documents it.

One module per vendor on the shared base (base.py). The demo serves them under /demo/vendors/<vendor>/
(only with DEBUG or DSR_DEMO=true) for its `saas` sources; the tests and the benchmark serve the same
classes on a local HTTP server, with failure modes. Not part of dsr's product.
"""
