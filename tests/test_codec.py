"""Personal data in Temporal histories: the AES-GCM payload codec (round trip, key rotation,
unknown keys, plain payloads passing through), a claim whose raw history holds none of the
claimant's data in clear, its replay with and without the keys, the codec server read by the
real `temporal` CLI, the search attributes, and masking in views and logs."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import os
import stat
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import typer
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from typer.testing import CliRunner

import commands.audit
from cli import app
from client import (
    ENGINE_CONVERTER,
    EnginePayloadConverter,
    OneLineFailures,
    data_converter,
    payload_codec,
    start_claim,
)
from engine import ensure_key_file, server_command
from security.codec import (
    ENCODING,
    KEY_ID,
    EncryptionCodec,
    PayloadKeyError,
    _payloads_in,
    create_key_file,
    key_ring,
    new_key_entry,
    parse_keys,
)
from security.codec_server import CodecServer
from security.log_masking import MaskingFilter, mask_logs
from security.masking import (
    mask_contact,
    mask_id_no,
    mask_phone,
    mask_text,
    may_see_full,
)
from settings import Settings, get_settings
from tests.claimtools import handle_for, wait_stage
from tests.conftest import TEMPORAL_BIN, TEST_PAYLOAD_KEYS
from tests.factories import ZHANG, medical_report
from worker import WORKFLOWS
from workflows.claim import ClaimWorkflow

runner = CliRunner()
DESCRIPTION = "右手腕骨折门诊复位治疗"


def _ring(*kids: str) -> list[tuple[str, bytes]]:
    return [(kid, os.urandom(32)) for kid in kids]


def _json_payload(value: Any) -> Payload:
    return pydantic_data_converter.payload_converter.to_payloads([value])[0]


# ================================================================== the codec


async def test_a_payload_round_trips_and_is_sealed_with_the_active_key():
    codec = EncryptionCodec(_ring("k1"))
    plain = _json_payload({"claimant": ZHANG})
    [sealed] = await codec.encode([plain])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID] == b"k1"
    assert ZHANG["id_no"].encode() not in sealed.data
    assert "张三".encode() not in sealed.data
    [back] = await codec.decode([sealed])
    assert back == plain
    # a fresh nonce each time: the same value never gives the same ciphertext
    [again] = await codec.encode([plain])
    assert again.data != sealed.data


async def test_rotation_old_payloads_still_decode_after_a_new_active_key():
    old_ring = _ring("k1")
    [sealed_with_k1] = await EncryptionCodec(old_ring).encode([_json_payload("older")])
    rotated = EncryptionCodec([*_ring("k2"), *old_ring])
    assert rotated.active_kid == "k2"
    [back] = await rotated.decode([sealed_with_k1])
    assert back == _json_payload("older")
    [sealed_now] = await rotated.encode([_json_payload("newer")])
    assert sealed_now.metadata[KEY_ID] == b"k2"


async def test_a_payload_under_an_unknown_key_id_fails_naming_the_key():
    [sealed] = await EncryptionCodec(_ring("retired-2025")).encode([_json_payload("x")])
    with pytest.raises(PayloadKeyError, match="unknown key id 'retired-2025'"):
        await EncryptionCodec(_ring("k2")).decode([sealed])


async def test_a_payload_altered_or_relabelled_does_not_decrypt():
    ring = _ring("k1", "k2")
    codec = EncryptionCodec(ring)
    [sealed] = await codec.encode([_json_payload("x")])
    sealed.metadata[KEY_ID] = b"k2"
    with pytest.raises(PayloadKeyError, match="does not decrypt"):
        await codec.decode([sealed])


async def test_plain_payloads_pass_through_decoding_unchanged():
    codec = EncryptionCodec(_ring("k1"))
    plain = [_json_payload({"materials": [{"kind": "invoices", "ref": "scan-1"}]}), Payload()]
    assert await codec.decode(plain) == plain


def test_key_settings_are_checked_with_a_clear_message(tmp_path):
    good = new_key_entry("k1")
    assert [kid for kid, _ in parse_keys(f"{good}, {new_key_entry('k0')}")] == ["k1", "k0"]
    short = base64.b64encode(b"0" * 10).decode()
    for text, message in (
        (f"k1:{short}", "is 10 bytes"),
        ("k1:not-base64!", "not valid base64"),
        ("no-colon", "kid:base64key"),
        (f"{good},{good}", "given twice"),
    ):
        with pytest.raises(PayloadKeyError, match=message):
            parse_keys(text)
    # the setting first, then the key file; the same id for two keys is refused
    key_file = tmp_path / "payload-keys"
    assert create_key_file(key_file, kid="file-1")
    assert not create_key_file(key_file)  # never overwritten
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [kid for kid, _ in key_ring(good, key_file)] == ["k1", "file-1"]
    clash = "file-1:" + base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(PayloadKeyError, match="two different keys"):
        key_ring(clash, key_file)


def test_the_converter_encrypts_only_when_keys_are_configured(tmp_path):
    plain = Settings(data_dir=tmp_path / "none", payload_keys="")
    assert data_converter(plain) is ENGINE_CONVERTER and ENGINE_CONVERTER.payload_codec is None
    keyed = Settings(data_dir=tmp_path / "keyed", payload_keys=TEST_PAYLOAD_KEYS)
    assert isinstance(data_converter(keyed).payload_codec, EncryptionCodec)
    # encrypted or not, the same payload and failure converters (one-line refusals)
    for converter in (data_converter(plain), data_converter(keyed)):
        assert converter.payload_converter_class is EnginePayloadConverter
        assert converter.failure_converter_class is OneLineFailures


def test_the_embedded_engine_makes_a_key_file_and_gives_the_ui_its_codec(tmp_path):
    s = Settings(data_dir=tmp_path / "data", payload_keys="", codec_port=18234)
    assert payload_codec(s) is None
    assert ensure_key_file(s)
    assert not ensure_key_file(s)
    codec = payload_codec(s)
    assert codec is not None and codec.key_ids == ["k1"]
    command = server_command(s, codec=True)
    assert command[command.index("--ui-codec-endpoint") + 1] == "http://127.0.0.1:18234"
    # with keys in the environment no file is made
    assert not ensure_key_file(Settings(data_dir=tmp_path / "other", payload_keys="x"))
    assert not (tmp_path / "other" / "payload-keys").exists()


# ============================================================ a claim, live


def _raw_payload_bytes(history: WorkflowHistory) -> bytes:
    """Everything a reader without the keys sees: the history's JSON and every payload's data
    (base64-decoded), metadata included."""
    blob = [history.to_json().encode()]
    for event in history.events:
        for p in _payloads_in(event):
            blob.append(p.data)
            blob.extend(p.metadata.values())
    return b"\n".join(blob)


async def _closed_claim(dev) -> tuple[str, WorkflowHistory]:
    report = medical_report(description=DESCRIPTION)
    await start_claim(dev.client, report, dev.task_queue)
    await wait_stage(dev.client, report.claim_id, "CLOSED")
    await asyncio.sleep(0.3)  # the last projection write lands in the history
    history = await handle_for(dev.client, report.claim_id).fetch_history()
    return report.claim_id, history


@pytest.fixture
def cli_env(dev, monkeypatch):
    s = dev.settings
    monkeypatch.setenv("TEMPORAL_ADDRESS", dev.env.client.service_client.config.target_host)
    monkeypatch.setenv("CLAIMS_TASK_QUEUE", s.task_queue)
    monkeypatch.setenv("CLAIMS_DATA_DIR", str(s.data_dir))
    get_settings.cache_clear()
    yield dev
    get_settings.cache_clear()


async def test_a_claims_raw_history_holds_no_personal_data_in_clear(dev):
    claim_id, history = await _closed_claim(dev)
    raw = _raw_payload_bytes(history)
    for secret in (ZHANG["name"], ZHANG["id_no"], ZHANG["phone"], DESCRIPTION, "北京市朝阳区"):
        assert secret.encode() not in raw, secret
        assert json.dumps(secret).encode() not in raw, secret
    sealed = [p for e in history.events for p in _payloads_in(e) if p.metadata.get(KEY_ID)]
    assert len(sealed) >= 5  # the input, rules, projections, letters, payment, result
    assert {p.metadata[KEY_ID] for p in sealed} == {b"test-1"}
    # the engine's own client reads it all back
    status = await handle_for(dev.client, claim_id).query(ClaimWorkflow.status)
    assert status.claimant_id_no == ZHANG["id_no"]


async def test_search_attributes_carry_no_personal_data(dev):
    claim_id, _ = await _closed_claim(dev)
    described = await handle_for(dev.client, claim_id).describe()
    attrs = {p.key.name: p.value for p in described.typed_search_attributes}
    assert {"ClaimStage", "ClaimLine", "PolicyNo"} <= set(attrs)
    text = json.dumps({k: str(v) for k, v in attrs.items()}, ensure_ascii=False)
    for secret in (ZHANG["name"], ZHANG["id_no"], ZHANG["phone"], DESCRIPTION):
        assert secret not in text


async def test_an_encrypted_history_replays_with_the_keys_and_fails_without(
    cli_env, tmp_path, monkeypatch
):
    claim_id, history = await _closed_claim(cli_env)
    path = tmp_path / f"claim-{claim_id}.json"
    path.write_text(history.to_json(), encoding="utf-8")

    cli = typer.Typer()
    cli.add_typer(commands.audit.app, name="audit")
    r = await asyncio.to_thread(runner.invoke, cli, ["audit", "replay", "--file", str(path)])
    assert r.exit_code == 0, r.output
    assert "replays cleanly" in r.output
    r = await asyncio.to_thread(runner.invoke, cli, ["audit", "trail", str(path), "--json"])
    assert r.exit_code == 0, r.output
    assert any(e["kind"] == "letter" for e in json.loads(r.output))
    assert ZHANG["phone"] not in r.output  # the trail masks what it shows

    monkeypatch.setenv("CLAIMS_PAYLOAD_KEYS", "")
    get_settings.cache_clear()
    r = await asyncio.to_thread(runner.invoke, cli, ["audit", "replay", "--file", str(path)])
    assert r.exit_code == 1, r.output
    assert "FAILED" in r.output

    plain = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    result = await plain.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is not None


# ============================================================== codec server


@pytest.fixture
def codec_server() -> Iterator[CodecServer]:
    codec = payload_codec(Settings(payload_keys=TEST_PAYLOAD_KEYS))
    assert codec is not None
    server = CodecServer(
        ("127.0.0.1", 0),
        codec,
        namespace="default",
        token="s3cret",
        origins=["http://127.0.0.1:8233"],
    )
    server.start()
    yield server
    server.shutdown()
    server.server_close()


def _data_fields(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("data"), str) and "metadata" in node:
            yield node["data"]
        for value in node.values():
            yield from _data_fields(value)
    elif isinstance(node, list):
        for value in node:
            yield from _data_fields(value)


def _post(url: str, body: bytes, headers: dict[str, str], method: str = "POST") -> Any:
    req = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


async def test_the_temporal_cli_reads_a_history_through_the_codec_server(dev, codec_server):
    claim_id, _ = await _closed_claim(dev)
    address = dev.env.client.service_client.config.target_host

    def show(*extra: str) -> str:
        """The history as the CLI prints it, with every payload's data base64-decoded."""
        out = subprocess.run(
            [TEMPORAL_BIN, "workflow", "show", "--workflow-id", f"claim-{claim_id}",
             "--address", address, "--output", "json", *extra],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout  # fmt: skip
        return out + "\n".join(
            base64.b64decode(d).decode(errors="replace") for d in _data_fields(json.loads(out))
        )

    decoded = await asyncio.to_thread(
        show, "--codec-endpoint", codec_server.url + "/{namespace}", "--codec-auth", "Bearer s3cret"
    )
    assert DESCRIPTION in decoded and ZHANG["id_no"] in decoded
    raw = await asyncio.to_thread(show)
    assert DESCRIPTION not in raw and ZHANG["id_no"] not in raw


def test_the_codec_server_speaks_the_remote_codec_protocol(codec_server):
    plain = {"payloads": [{"metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
                           "data": base64.b64encode('"张三"'.encode()).decode()}]}  # fmt: skip
    auth = {"Content-Type": "application/json", "Authorization": "Bearer s3cret"}
    body = json.dumps(plain).encode()

    code, _, out = _post(codec_server.url + "/encode", body, auth)
    assert code == 200, out
    sealed = json.loads(out)["payloads"][0]
    assert base64.b64decode(sealed["metadata"]["encoding"]) == ENCODING
    code, headers, out = _post(
        codec_server.url + "/decode",
        json.dumps({"payloads": [sealed]}).encode(),
        {**auth, "X-Namespace": "default", "Origin": "http://127.0.0.1:8233"},
    )
    assert code == 200 and json.loads(out) == plain
    assert headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8233"

    assert _post(codec_server.url + "/decode", body, {"Content-Type": "application/json"})[0] == 401
    assert _post(codec_server.url + "/other/decode", body, auth)[0] == 403
    assert _post(codec_server.url + "/nope", body, auth)[0] == 404
    # the browser's preflight: allowed origin answered, any other origin gets no grant
    code, headers, _ = _post(
        codec_server.url + "/decode", b"", {"Origin": "http://127.0.0.1:8233"}, "OPTIONS"
    )
    assert code == 204
    assert "x-namespace" in headers["Access-Control-Allow-Headers"]
    _, headers, _ = _post(codec_server.url + "/decode", b"", {"Origin": "http://evil"}, "OPTIONS")
    assert "Access-Control-Allow-Origin" not in headers


# ==================================================================== masking


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("110101198001011234", "110101********1234"),
        ("11010119800101123X", "110101********123X"),
        ("13800000000", "138****0000"),
        ("zhangsan@example.com", "z*******@example.com"),
        ("", ""),
        (None, None),
    ],
)
def test_contacts_are_masked(value, masked):
    assert mask_contact(value) == masked


def test_masking_in_text_leaves_other_numbers_alone():
    text = "张三 110101198001011234 <13800000000> account 6222020000001234 ref TRF-4A81059A18F8"
    assert mask_text(text) == (
        "张三 110101********1234 <138****0000> account 6222020000001234 ref TRF-4A81059A18F8"
    )
    assert mask_id_no("12345") == "***45" and mask_phone("95500") == "***00"


@pytest.mark.parametrize(
    ("roles", "active", "full"),
    [
        (["supervisor"], True, True),
        (["manager"], True, True),
        (["complaint_coordinator"], True, True),
        (["special_care_advisor"], True, True),
        (["investigator"], True, True),
        (["adjuster"], True, False),
        (["complaint_handler"], True, False),
        (["intake"], True, False),
        (["supervisor"], False, False),
    ],
)
def test_who_may_see_id_numbers_and_phones_in_full(roles, active, full):
    assert may_see_full(roles, active) is full


def test_log_lines_are_masked():
    logger = logging.getLogger(f"claims.test.{os.getpid()}")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        mask_logs(logger)
        mask_logs(logger)  # once is enough
        assert sum(isinstance(f, MaskingFilter) for f in handler.filters) == 1
        logger.warning("letter to %s <%s>", ZHANG["id_no"], ZHANG["phone"])
        try:
            raise ValueError(f"bad claimant {ZHANG['id_no']}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    assert "letter to 110101********1234 <138****0000>" in text
    assert ZHANG["id_no"] not in text and ZHANG["phone"] not in text


async def _claims(*args: str):
    return await asyncio.to_thread(runner.invoke, app, list(args))


async def test_claim_show_masks_unless_full_view_for_the_right_role(cli_env):
    claim_id, _ = await _closed_claim(cli_env)
    r = await _claims("claim", "show", claim_id)
    assert r.exit_code == 0, r.output
    assert "id 110101********1234  phone 138****0000" in r.output
    r = await _claims("claim", "show", claim_id, "--json")
    shown = json.loads(r.output)
    assert (shown["claimant_id_no"], shown["claimant_phone"]) == (
        "110101********1234",
        "138****0000",
    )

    r = await _claims("claim", "show", claim_id, "--full")
    assert r.exit_code == 1 and "--full needs --as STAFF" in r.output
    r = await _claims("claim", "show", claim_id, "--full", "--as", "adj1")
    assert r.exit_code == 1
    assert r.output.startswith("error: refused: adj1 may not see id numbers and phones in full")
    r = await _claims("claim", "show", claim_id, "--full", "--as", "sup1")
    assert r.exit_code == 0, r.output
    assert f"id {ZHANG['id_no']}  phone {ZHANG['phone']}" in r.output

    letters = json.loads((await _claims("letter", "list", claim_id, "--json")).output)
    assert letters and all(ZHANG["phone"] not in x["recipient"] for x in letters)
    r = await _claims("letter", "show", letters[0]["letter_id"])
    assert ZHANG["phone"] not in r.output.splitlines()[0]
    for listing in (("claim", "list", "--json"), ("tasks", "--json")):
        r = await _claims(*listing)
        assert (
            r.exit_code == 0 and ZHANG["id_no"] not in r.output and ZHANG["phone"] not in r.output
        )
    assert Decimal(shown["payable_amount"]) > 0


def test_each_converter_the_sdk_makes_reads_with_the_same_pydantic_converters():
    """The SDK makes a payload converter per workflow activation; each one shares the first
    one's pydantic converters, so a model's type adapter is built once, not per activation,
    and a report reads the same through any of them."""
    from client import EnginePayloadConverter
    from models.claim import ClaimReport
    from tests.factories import medical_report

    report = medical_report()
    first, second = EnginePayloadConverter(), EnginePayloadConverter()
    assert first.converters is second.converters
    (payload,) = first.to_payloads([report])
    adapters = first.converters[b"json/plain"]._type_adapter  # type: ignore[attr-defined]
    adapters.cache_clear()
    for converter in (first, second, EnginePayloadConverter()):
        assert converter.from_payloads([payload], [ClaimReport]) == [report]
    assert (adapters.cache_info().misses, adapters.cache_info().hits) == (1, 2)
