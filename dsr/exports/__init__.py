"""Export bundles: staging the collected records, building the sealed ZIP, and delivering it (GDPR Art. 15, 20)."""
