"""One small module per external service (each owning its retries, timeouts, pagination and typed
models); ``registry.build_resources`` wires them for the mode. Nothing is imported here, so a light
process (the RB2B receiver) can use one module without loading every client."""
