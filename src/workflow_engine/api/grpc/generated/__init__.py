"""Generated protobuf / gRPC stubs of proto/workflow_engine/v1 (scripts/gen-proto; do not edit)."""
