"""``possettle codec decode``: frames in any of three shapes, shown masked."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from possettle.cli.main import app
from tests.vectors.load import by_name, load

PAN = load()["keys"]["pan"]
MASKED_PAN = "622202*********0128"
VECTORS = load()["vectors"]
IDS = [v["name"] for v in VECTORS]


def _decode(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["codec", "decode", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_decode_never_shows_the_clear_pan_pin_block_or_keys(vector: dict[str, str]) -> None:
    code, output = _decode(vector["frame_hex"])
    assert code == 0, output
    assert PAN not in output
    fields = vector["fields"]
    for secret in ("52", "62"):
        if secret in fields:
            assert str(fields[secret]) not in output


def test_decode_of_a_sale_shows_the_masked_pan_and_the_header() -> None:
    code, output = _decode(by_name()["sale_request"]["frame_hex"])
    assert code == 0, output
    assert MASKED_PAN in output
    assert output.startswith("frame: TPDU 60 ")
    assert PAN not in output


@pytest.mark.parametrize(
    ("cut", "form"), [(0, "frame"), (2, "frame without LEN"), (13, "ISO body")]
)
def test_decode_accepts_a_frame_a_frame_without_len_or_a_bare_body(cut: int, form: str) -> None:
    frame_hex = by_name()["sale_request"]["frame_hex"]
    code, output = _decode("--json", frame_hex[2 * cut :])
    assert code == 0, output
    data = json.loads(output)
    assert data["form"] == form
    assert data["fields"]["11"] == by_name()["sale_request"]["fields"]["11"]
    assert PAN not in output


def test_decode_reads_spaced_hex_from_stdin() -> None:
    frame_hex = by_name()["echo_request"]["frame_hex"]
    spaced = " ".join(frame_hex[i : i + 2] for i in range(0, len(frame_hex), 2))
    result = CliRunner().invoke(app, ["codec", "decode", "-"], input=spaced + "\n")
    assert result.exit_code == 0, result.output
    assert "MTI  0820" in result.output


@pytest.mark.parametrize(
    ("hex_input", "message"),
    [
        ("0x12z4", "error: hex input has a non-hex character at position 2"),
        ("123", "error: hex input has an odd number of digits (3)"),
        ("0200", "error: body is 2 bytes, shorter than MTI + bitmap: field p pos 0"),
        (
            "0005" + "6000030000",
            "error: frame length 5 is shorter than TPDU + header + MTI + bitmap",
        ),
    ],
)
def test_bad_input_is_one_error_line_and_exit_1(hex_input: str, message: str) -> None:
    code, output = _decode(hex_input)
    assert code == 1
    assert output.startswith(message), output
    assert "Traceback" not in output
