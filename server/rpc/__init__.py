"""The gRPC adapter: server set-up, servicer, protobuf conversion, interceptors, access control, quotas."""
