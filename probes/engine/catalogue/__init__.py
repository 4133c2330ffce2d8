"""The probe catalogue, one module per topic. Importing this package registers every probe."""
from probes.engine.catalogue import (  # noqa: F401
    alerting,
    cluster,
    dapr,
    images,
    kafka,
    logs,
    networking,
    observability,
    scaling,
    security,
    storage,
    workloads,
)
