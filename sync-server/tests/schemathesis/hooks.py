# Loaded by schemathesis (SCHEMATHESIS_HOOKS) in sync-server/tests/schemathesis.rs.
# tus sends chunks as application/offset+octet-stream: raw bytes, exactly as
# application/octet-stream, which schemathesis already knows how to send.
import schemathesis

schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
