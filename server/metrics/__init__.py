"""Prometheus metrics of one service: instruments recorded as things happen, gauges read at scrape time."""

from server.metrics.instruments import CONTENT_TYPE, ServiceMetrics

__all__ = ["CONTENT_TYPE", "ServiceMetrics"]
