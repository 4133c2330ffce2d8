"""The probe catalogue, one module per topic. Importing this package registers every probe."""
from probes.engine.catalogue import (  # noqa: F401
    alerting,
    backups,
    cluster,
    dapr,
    hardening,
    images,
    kafka,
    logs,
    networking,
    observability,
    references,
    scaling,
    security,
    storage,
    workloads,
)
