from __future__ import annotations

from possettle.iso8583 import codec
from possettle.iso8583.mask import masked, pretty
from tests.vectors.load import by_name, load

PAN = load()["keys"]["pan"]


def test_pretty_print_of_every_vector_has_no_clear_pan_pin_block_or_keys() -> None:
    for v in load()["vectors"]:
        text = pretty(codec.decode(bytes.fromhex(v["frame_hex"])[13:]))
        assert PAN not in text
        for secret in ("52", "62"):
            if secret in v["fields"]:
                assert v["fields"][secret] not in text


def test_batch_upload_records_are_shown_with_masked_pans() -> None:
    fields = by_name()["batch_upload"]["fields"]
    shown = masked(fields)["48"]
    assert "622202*********0128" in shown
    assert PAN not in shown


def test_track2_shows_only_the_masked_pan() -> None:
    assert masked({"t": "0200", "35": PAN + "=3012101"})["35"] == "622202*********0128=****"
