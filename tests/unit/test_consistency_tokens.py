"""Consistency tokens are signed by the API: only a token it issued, unaltered, decodes (memory.contract.positions);
the signing key comes from the setting or one file shared by every process (adapters.token_key)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from adapters.token_key import KEY_FILE, TokenKeyError, key_from_file, token_key
from memory.contract.positions import VERSION_PREFIX, InvalidTokenError, LogPosition, decode_token, encode_token
from memory.settings import Settings

KEY = b"k" * 32
POSITIONS = [LogPosition("memstream.turns.v1", 0, 5), LogPosition("memstream.turns.v1", 0, 9)]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_token_round_trips_keeping_the_highest_offset_per_partition() -> None:
    token = encode_token([*POSITIONS, LogPosition("memstream.commands.v1", 3, 2)], KEY)
    assert sorted(decode_token(token, KEY)) == [
        LogPosition("memstream.commands.v1", 3, 2),
        LogPosition("memstream.turns.v1", 0, 9),
    ]


def test_a_token_is_versioned_url_safe_and_opaque() -> None:
    token = encode_token(POSITIONS, KEY)
    assert token.startswith(VERSION_PREFIX)
    assert set(token) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
    assert encode_token(list(reversed(POSITIONS)), KEY) == token  # canonical payload: same write, same token


def test_an_altered_payload_is_refused() -> None:
    _, signature = encode_token(POSITIONS, KEY)[len(VERSION_PREFIX) :].split(".")
    forged = b64(json.dumps({"memstream.turns.v1:0": 10**12}, separators=(",", ":")).encode())
    with pytest.raises(InvalidTokenError, match="signature"):
        decode_token(f"{VERSION_PREFIX}{forged}.{signature}", KEY)


def test_a_flipped_signature_byte_is_refused() -> None:
    token = encode_token(POSITIONS, KEY)
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(InvalidTokenError, match="signature"):
        decode_token(flipped, KEY)


def test_a_token_signed_with_another_key_is_refused() -> None:
    with pytest.raises(InvalidTokenError, match="not issued by this API"):
        decode_token(encode_token(POSITIONS, b"another key entirely"), KEY)


def test_the_old_unsigned_format_is_refused() -> None:
    old = b64(json.dumps({"memstream.turns.v1:0": 1e12}, sort_keys=True).encode())
    with pytest.raises(InvalidTokenError, match="unknown consistency token format"):
        decode_token(old, KEY)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "%%%",
        "not-a-token!",
        VERSION_PREFIX,
        f"{VERSION_PREFIX}abc",
        f"{VERSION_PREFIX}a.b.c",
        f"{VERSION_PREFIX}%%.%%",
        f"{VERSION_PREFIX}YQ\n.YQ",
        f"{VERSION_PREFIX}{'A' * 5000}.AAAA",
    ],
)
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(InvalidTokenError):
        decode_token(garbage, KEY)


@pytest.mark.parametrize(
    "payload",
    [b"[]", b"not json", b'{"no-partition": 1}', b'{"t:0": -1}', b'{"t:0": 1.5}', b'{"t:x": 1}', b'{"t:0": true}'],
)
def test_a_signed_but_malformed_payload_is_refused(payload: bytes) -> None:
    # Only reachable with the key; checked all the same, so nothing odd ever reaches the wait.
    signature = hmac.new(KEY, VERSION_PREFIX.encode() + payload, hashlib.sha256).digest()
    with pytest.raises(InvalidTokenError, match="malformed"):
        decode_token(f"{VERSION_PREFIX}{b64(payload)}.{b64(signature)}", KEY)


def test_the_setting_is_the_key_when_given() -> None:
    assert token_key(Settings(token_secret="s" * 20)) == b"s" * 20
    with pytest.raises(TokenKeyError, match="at least 16"):
        token_key(Settings(token_secret="short"))


def test_the_setting_stays_out_of_the_settings_repr() -> None:
    assert "hush-hush-secret" not in repr(Settings(token_secret="hush-hush-secret"))


def test_without_the_setting_a_key_is_generated_once_private_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = token_key(settings)
    path = tmp_path / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(first) == 64
    assert token_key(Settings(data_dir=tmp_path)) == first  # a restarted process signs with the same key
    assert os.listdir(path.parent) == [path.name]  # no drafts left behind


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: key_from_file(path), range(32)))
    assert len(keys) == 1


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE
    key_from_file(path)
    path.chmod(0o644)
    with pytest.raises(TokenKeyError, match="chmod 600"):
        key_from_file(path)
