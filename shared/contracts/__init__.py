"""The contract between services: the envelope, event models and the topic registry."""

from shared.contracts.envelope import Envelope, Event, Money, event_types
from shared.contracts.registry import TOPICS, Topic, topic_for_event

__all__ = ["TOPICS", "Envelope", "Event", "Money", "Topic", "event_types", "topic_for_event"]
