"""Only ``possettle.crypto`` handles clear PINs and PIN blocks, as an HSM would.

Every other module gets PIN blocks in and out (encrypt at the PIN pad, translate at the host,
verify at the issuer) through crypto functions that never hand a clear PIN back. A source
scan over the package: no module outside ``crypto/`` imports psec or a cipher library, or
names a function or type that exposes a clear PIN.
"""

from __future__ import annotations

import ast
from pathlib import Path

import possettle

PACKAGE = Path(possettle.__file__).parent
CRYPTO = PACKAGE / "crypto"

# Modules that hold the PIN-block and cipher code: crypto/ is the only place they belong.
FORBIDDEN_MODULES = ("psec", "cryptography", "Crypto", "pyDes")
# Names that hand out a clear PIN (or decrypt a raw block) — callable only inside crypto/.
FORBIDDEN_NAMES = frozenset(
    {
        "Pin",
        "decrypt_pin",
        "decrypt_pin_value",
        "decode_pinblock_iso_0",
        "encode_pinblock_iso_0",
        "tdes_decrypt_ecb",
    }
)


def violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    where = path.relative_to(PACKAGE)
    found: list[str] = []
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            modules = [node.module]
            found += [
                f"{where}:{node.lineno} imports {alias.name}"
                for alias in node.names
                if alias.name in FORBIDDEN_NAMES
            ]
        found += [
            f"{where}:{node.lineno} imports {module}"
            for module in modules
            if module.split(".")[0] in FORBIDDEN_MODULES
        ]
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_NAMES:
            found.append(f"{where}:{node.lineno} uses .{node.attr}")
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            found.append(f"{where}:{node.lineno} uses {node.id}")
    return found


def test_the_scan_sees_what_crypto_itself_does() -> None:
    # The scan must be able to fail: crypto/pin.py does all of it.
    found = violations(CRYPTO / "pin.py")
    assert any("imports psec.pinblock" in v for v in found)
    assert any("uses tdes_decrypt_ecb" in v for v in found)
    assert any("uses Pin" in v for v in found)


def test_only_the_crypto_package_decodes_pin_blocks_or_sees_a_clear_pin() -> None:
    outside = [p for p in sorted(PACKAGE.rglob("*.py")) if CRYPTO not in p.parents]
    assert len(outside) > 100  # the whole package, not an empty glob
    found = [v for path in outside for v in violations(path)]
    assert found == []


def test_there_is_one_pin_block_implementation() -> None:
    assert not (PACKAGE / "upstream" / "pinblock.py").exists()
