"""Prometheus counters and the decision-latency histogram, in a registry of our own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["REGISTRY", "MESSAGES", "GATED", "MATCHED", "ACTIONS", "SUPPRESSED", "FEEDBACK", "LATENCY"]

REGISTRY = CollectorRegistry(auto_describe=True)
MESSAGES = Counter("footnote_messages_total", "Messages seen", ["platform"], registry=REGISTRY)
GATED = Counter("footnote_messages_on_topic_total", "Messages that passed the topic gate", ["platform"],
                registry=REGISTRY)
MATCHED = Counter("footnote_matches_total", "Messages matched to a claim, by tier", ["platform", "tier"],
                  registry=REGISTRY)
ACTIONS = Counter("footnote_actions_total", "Replies and reactions sent", ["platform", "action"], registry=REGISTRY)
SUPPRESSED = Counter("footnote_suppressed_total", "Matches kept quiet by a policy rule", ["platform", "rule"],
                     registry=REGISTRY)
FEEDBACK = Counter("footnote_feedback_total", "Reader feedback on answers", ["platform", "helpful"],
                   registry=REGISTRY)
LATENCY = Histogram("footnote_decision_seconds", "Time to decide on one message (including storage)",
                    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25), registry=REGISTRY)
