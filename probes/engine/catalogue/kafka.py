"""Strimzi KafkaTopics: partitions, replication and retention."""
from dataclasses import dataclass

from probes.engine.outcome import Finding, Outcome, fail, judge, probe
from probes.engine.catalogue.common import not_installed
from probes.engine.objects import dig, name, namespace
from probes.engine.snapshot import Snapshot

KAFKATOPIC = "kafka.strimzi.io/v1beta2/KafkaTopic"


def _judge_topics(snap: Snapshot, check) -> Outcome:
    # The topic operator mirrors Kafka's internal topics (__consumer_offsets, strimzi-*) as
    # KafkaTopics; those are Kafka's business, not the application's.
    topics = [t for t in snap.of(KAFKATOPIC) if not str(dig(t, "spec.topicName") or name(t)).startswith(("__", "strimzi-"))]
    if not topics:
        return fail(not_installed(snap, KAFKATOPIC, "KafkaTopic (Strimzi)"))
    findings = [f for t in topics for f in check(t, f"{namespace(t)}/KafkaTopic/{name(t)}")]
    return judge(findings, len(topics), "Kafka topics")


@dataclass(frozen=True)
class PartitionParams:
    min_partitions: int = 3
    max_partitions: int = 6


@probe(
    "kafka.topic-partitions",
    "Kafka topics have an appropriate partition count",
    kinds=[KAFKATOPIC],
    params=PartitionParams,
    items=["event-streaming-kafka.kafka-topics-have-appropriate-partitions-3-6"],
)
def topic_partitions(snap: Snapshot, p: PartitionParams) -> Outcome:
    """Each application KafkaTopic has between `min_partitions` and `max_partitions` partitions."""

    def check(topic, object_ref):
        count = dig(topic, "spec.partitions")
        if count is None or not p.min_partitions <= int(count) <= p.max_partitions:
            return [Finding(object_ref, "spec.partitions", f"topic has {count if count is not None else 'the broker default number of'} partitions; set spec.partitions between {p.min_partitions} and {p.max_partitions}")]
        return []

    return _judge_topics(snap, check)


@dataclass(frozen=True)
class TopicReplicaParams:
    replicas: int = 3


@probe(
    "kafka.topic-replicas",
    "Kafka topics are replicated",
    kinds=[KAFKATOPIC],
    params=TopicReplicaParams,
    items=["event-streaming-kafka.kafka-replication-factor-is-set-to-3"],
)
def topic_replicas(snap: Snapshot, p: TopicReplicaParams) -> Outcome:
    """Each application KafkaTopic sets spec.replicas to at least `replicas`."""

    def check(topic, object_ref):
        count = dig(topic, "spec.replicas")
        if count is None or int(count) < p.replicas:
            return [Finding(object_ref, "spec.replicas", f"topic has replication factor {count if count is not None else 'of the broker default'}; set spec.replicas: {p.replicas}")]
        return []

    return _judge_topics(snap, check)


@dataclass(frozen=True)
class TopicRetentionParams:
    retention_ms: int = 7 * 24 * 3600 * 1000


@probe(
    "kafka.topic-retention",
    "Kafka topics keep messages for the retention period",
    kinds=[KAFKATOPIC],
    params=TopicRetentionParams,
    items=["event-streaming-kafka.kafka-retention-is-set-appropriately-7-days"],
)
def topic_retention(snap: Snapshot, p: TopicRetentionParams) -> Outcome:
    """Each application KafkaTopic sets spec.config retention.ms to `retention_ms` (7 days)."""
    days = p.retention_ms / 86_400_000

    def check(topic, object_ref):
        value = (dig(topic, "spec.config", {}) or {}).get("retention.ms")
        if value is None or int(value) != p.retention_ms:
            return [Finding(object_ref, "spec.config.retention.ms", f"retention.ms is {value if value is not None else 'unset (broker default)'}; set it to {p.retention_ms} ({days:g} days)")]
        return []

    return _judge_topics(snap, check)
