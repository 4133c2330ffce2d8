"""Kubeconfig text encrypted at rest with caller-supplied Fernet keys."""
import pytest

from probes import crypto

KUBECONFIG = "apiVersion: v1\nusers:\n- name: ci\n  user: {token: s3cr3t}\n"


def test_round_trip_and_the_token_hides_the_text():
    keys = [crypto.generate_key()]
    token = crypto.encrypt(KUBECONFIG, keys)

    assert "s3cr3t" not in token
    assert crypto.decrypt(token, keys) == KUBECONFIG


def test_a_wrong_key_is_a_clear_error():
    token = crypto.encrypt(KUBECONFIG, [crypto.generate_key()])
    with pytest.raises(crypto.SecretKeyError, match="cannot be decrypted"):
        crypto.decrypt(token, [crypto.generate_key()])


def test_a_tampered_value_is_refused():
    keys = [crypto.generate_key()]
    token = crypto.encrypt(KUBECONFIG, keys)
    with pytest.raises(crypto.SecretKeyError):
        crypto.decrypt(token[:-4] + "AAAA", keys)


@pytest.mark.parametrize("keys, says", [
    ([], "No encryption key"),
    (["not-a-key"], "Key 1 of READINESS_SECRETS_KEYS is not a valid"),
])
def test_missing_or_malformed_keys_are_named_not_echoed(keys, says):
    with pytest.raises(crypto.SecretKeyError, match=says) as caught:
        crypto.encrypt(KUBECONFIG, keys)
    assert "not-a-key" not in str(caught.value)


def test_rotation_keeps_old_values_readable_then_moves_them_to_the_new_key():
    old, new = crypto.generate_key(), crypto.generate_key()
    stored = crypto.encrypt(KUBECONFIG, [old])

    assert crypto.decrypt(stored, [new, old]) == KUBECONFIG  # new key in front, old still opens
    rotated = crypto.rotate(stored, [new, old])
    assert crypto.decrypt(rotated, [new]) == KUBECONFIG  # the old key can now be dropped
    with pytest.raises(crypto.SecretKeyError):
        crypto.decrypt(rotated, [old])


def test_a_single_key_may_be_passed_bare():
    key = crypto.generate_key()
    assert crypto.decrypt(crypto.encrypt(KUBECONFIG, key), key) == KUBECONFIG
