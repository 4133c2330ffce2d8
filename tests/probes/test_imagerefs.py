"""Registry lists: a prefix matches up to a "/" (or the whole path), a glob as fnmatch reads it."""
import pytest

from probes.engine.catalogue.images import PRIVATE_REGISTRIES, PUBLIC_REGISTRIES
from probes.engine.imagerefs import in_registries, parse_image


@pytest.mark.parametrize("image, registries, expected", [
    ("quay.io/prometheus/node-exporter:v1.8.0", ["quay.io"], True),
    ("quay.io.evil.example/x:1", ["quay.io"], False),  # a prefix stops at a "/"
    ("gcr.io/distrolessx/base:1", ["gcr.io/distroless"], False),
    ("gcr.io/distroless/base:1", ["gcr.io/distroless/"], True),  # a trailing "/" changes nothing
    ("nginx:1.27", ["docker.io/library"], True),  # Docker Hub's implicit parts count
    ("acme/api:1", ["docker.io/library"], False),
    ("acme.azurecr.io/shop/api:1.0", ["*.azurecr.io/*"], True),
    ("azurecr.io/shop/api:1.0", ["*.azurecr.io/*"], False),
    ("123.dkr.ecr.eu-west-1.amazonaws.com/api:1", PRIVATE_REGISTRIES, True),
    ("europe-docker.pkg.dev/acme/shop/api:1", PRIVATE_REGISTRIES, True),
    ("registry.k8s.io/pause:3.9", PUBLIC_REGISTRIES, True),
    ("registry.acme.io/api:1", PUBLIC_REGISTRIES + PRIVATE_REGISTRIES, False),
    ("quay.io/x:1", [], False),
])
def test_an_image_is_in_a_registry_list_by_prefix_or_glob(image, registries, expected):
    assert in_registries(parse_image(image), registries) is expected


def test_an_image_parses_into_its_parts_and_odd_values_still_fail_plainly():
    image = parse_image(" registry.acme.io:5000/shop/api:1.4.2@sha256:abc ")
    assert (image.registry, image.repository, image.tag, image.digest) == ("registry.acme.io:5000", "shop/api", "1.4.2", "sha256:abc")
    with pytest.raises(AttributeError):  # an image written as a number in YAML: the probe reports it
        parse_image(1.27)
