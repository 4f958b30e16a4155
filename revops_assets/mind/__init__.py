"""The Digital Mind: the team's calls, emails and docs as a searchable, incrementally built index.

Modules stay import-light on purpose (Dagster definitions import the assets that use them):
``chunking``/``transcripts``/``insights`` are stdlib + yaml; ``embeddings``/``index``/``query`` pull in
chromadb and (inside the functions that embed) sentence-transformers only when called.
"""
