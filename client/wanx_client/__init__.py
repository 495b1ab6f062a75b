"""wanx_client: a minimal client for DashScope's asynchronous wanx-v1 text-to-image API."""
