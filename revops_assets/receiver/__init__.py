"""RB2B webhook receiver: parse (models), keep durably (resources.inbox), answer fast (app).

Kept import-light: the Starlette app and the CLI command live in submodules loaded on demand.
"""
