"""The host vault: sealing, tamper detection, PAN hashes and the master key file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from possettle.crypto import CryptoError, KeyFileError, KeyMaterialError, Vault, VaultError
from possettle.crypto.keyfile import create_key_file

from .conftest import PAN, PIK

MASTER = bytes(range(32))
MASTER_HEX = MASTER.hex().upper()
AAD = b"terminal:12345678:tmk"


@pytest.fixture
def vault() -> Vault:
    return Vault(MASTER)


def test_seal_then_open_returns_the_plaintext(vault: Vault) -> None:
    assert vault.open(vault.seal(b"working keys", AAD), AAD) == b"working keys"


def test_a_blob_is_version_nonce_ciphertext_tag(vault: Vault) -> None:
    blob = vault.seal(b"abc", AAD)
    assert blob[0] == 0x01
    assert len(blob) == 1 + 12 + 3 + 16


def test_sealing_twice_uses_fresh_nonces(vault: Vault) -> None:
    assert vault.seal(b"abc", AAD) != vault.seal(b"abc", AAD)


@pytest.mark.parametrize(
    "offset",
    [1, 12, 13, -17, -1],
    ids=["nonce-first", "nonce-last", "ciphertext", "ct-last", "tag"],
)
def test_a_tampered_blob_does_not_open(vault: Vault, offset: int) -> None:
    blob = bytearray(vault.seal(b"secret!", AAD))
    blob[offset] ^= 0x80
    with pytest.raises(VaultError, match="failed authentication"):
        vault.open(bytes(blob), AAD)


def test_tamper_is_a_crypto_error_with_its_cause_kept(vault: Vault) -> None:
    blob = vault.seal(b"secret!", AAD)
    with pytest.raises(CryptoError) as exc:
        vault.open(blob[:-1] + bytes([blob[-1] ^ 1]), AAD)
    assert exc.value.__cause__ is not None


def test_a_blob_does_not_open_under_another_aad(vault: Vault) -> None:
    with pytest.raises(VaultError):
        vault.open(vault.seal(b"secret", AAD), b"terminal:87654321:tmk")


def test_a_blob_does_not_open_under_another_master_key(vault: Vault) -> None:
    with pytest.raises(VaultError):
        Vault(bytes(32)).open(vault.seal(b"secret", AAD), AAD)


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"\x01" + bytes(27), "sealed blob is 28 bytes, too short to be one"),
        (b"\x02" + bytes(40), "sealed blob has unknown version 0x02"),
    ],
)
def test_malformed_blobs_say_why(vault: Vault, blob: bytes, message: str) -> None:
    with pytest.raises(VaultError) as exc:
        vault.open(blob, AAD)
    assert str(exc.value) == message


def test_keys_seal_and_open_as_keys(vault: Vault) -> None:
    assert vault.open_key(vault.seal_key(PIK, AAD), AAD) == PIK


def test_pan_hash_is_stable_keyed_and_hides_the_pan(vault: Vault) -> None:
    digest = vault.pan_hash(PAN)
    assert digest == Vault(MASTER).pan_hash(PAN)
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    assert PAN not in digest
    assert Vault(bytes(32)).pan_hash(PAN) != digest
    assert vault.pan_hash("6222021234567890129") != digest


def test_pan_hash_refuses_non_digits_without_echoing_them(vault: Vault) -> None:
    with pytest.raises(CryptoError) as exc:
        vault.pan_hash(" 6222021234567890128")
    assert "6222" not in str(exc.value)


def test_vault_repr_shows_a_key_id_not_the_key(vault: Vault) -> None:
    for shown in (repr(vault), str(vault)):
        assert MASTER_HEX not in shown.upper()
        assert MASTER.hex() not in shown
    assert repr(vault) == f"Vault(key_id={vault.key_id})"
    assert len(vault.key_id) == 8


@pytest.mark.parametrize(
    ("material", "message"),
    [
        (bytes(16), "vault master key is 16 bytes, expecting 32"),
        (MASTER_HEX, "vault master key must be bytes, got str"),
    ],
)
def test_vault_refuses_a_bad_master_key(material: object, message: str) -> None:
    with pytest.raises(KeyMaterialError) as exc:
        Vault(material)  # type: ignore[arg-type]
    assert str(exc.value) == message


def test_load_or_create_writes_a_0600_one_line_key_file(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "host.key"
    vault = Vault.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert len(lines) == 1
    assert len(lines[0]) == 64
    assert [p.name for p in path.parent.iterdir()] == ["host.key"]  # no temp file left
    blob = vault.seal(b"x", AAD)
    assert Vault.load_or_create(path).open(blob, AAD) == b"x"


def test_load_or_create_reads_an_existing_key_file(tmp_path: Path) -> None:
    path = tmp_path / "host.key"
    path.write_text(MASTER_HEX.lower() + "\n")
    assert Vault.load_or_create(path).key_id == Vault(MASTER).key_id


def test_creating_over_an_existing_file_keeps_the_existing_key(tmp_path: Path) -> None:
    # The loser of a creation race must adopt the winner's key, not overwrite it.
    path = tmp_path / "host.key"
    path.write_text(MASTER_HEX + "\n")
    assert create_key_file(path) == MASTER
    assert path.read_text() == MASTER_HEX + "\n"
    assert [p.name for p in tmp_path.iterdir()] == ["host.key"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "its content must be 64 hex characters, found 0"),
        ("ABCD\n", "its content must be 64 hex characters, found 4"),
        ("Z" * 64 + "\n", "its content must be hex digits only"),
        (MASTER_HEX + "\n" + MASTER_HEX + "\n", "must hold exactly one line of hex"),
    ],
    ids=["empty", "short", "not-hex", "two-lines"],
)
def test_a_malformed_key_file_names_the_path(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "host.key"
    path.write_text(content)
    with pytest.raises(KeyFileError) as exc:
        Vault.load_or_create(path)
    assert exc.value.path == path
    assert str(exc.value) == f"host key file {path}: {reason}"


def test_a_non_ascii_key_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "host.key"
    path.write_bytes(b"\xff" * 64)
    with pytest.raises(KeyFileError, match="is not ASCII hex text") as exc:
        Vault.load_or_create(path)
    assert str(path) in str(exc.value)


def test_an_unreadable_key_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "host.key"
    path.mkdir()
    with pytest.raises(KeyFileError) as exc:
        Vault.load_or_create(path)
    assert str(exc.value) == f"host key file {path}: cannot be read: Is a directory"
    assert isinstance(exc.value.__cause__, OSError)


def test_from_env_uses_the_variable_and_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "host.key"
    vault = Vault.from_env_or_file(path, environ={"POSSETTLE_HOST_KEY": MASTER_HEX})
    assert vault.key_id == Vault(MASTER).key_id
    assert not path.exists()


def test_from_env_reads_os_environ_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSSETTLE_HOST_KEY", MASTER_HEX)
    assert Vault.from_env_or_file(tmp_path / "host.key").key_id == Vault(MASTER).key_id


def test_an_empty_variable_falls_back_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "host.key"
    Vault.from_env_or_file(path, environ={"POSSETTLE_HOST_KEY": ""})
    assert path.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ABC", "POSSETTLE_HOST_KEY must be 64 hex characters, found 3"),
        ("g" * 64, "POSSETTLE_HOST_KEY must be hex digits only"),
    ],
)
def test_a_malformed_variable_names_the_variable(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(KeyMaterialError) as exc:
        Vault.from_env_or_file(tmp_path / "host.key", environ={"POSSETTLE_HOST_KEY": value})
    assert str(exc.value) == message
