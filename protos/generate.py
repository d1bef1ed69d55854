"""Generate the Python gRPC modules in server/proto/ from protos/.

Run from anywhere: ``python protos/generate.py``. Needs grpcio-tools (the
``test`` extra). The output is checked in; tests/test_protos.py fails when it
is stale, so edit the .proto, run this, and commit both.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
OUT = ROOT / "server" / "proto"
# Generated stubs import their siblings as top-level `arena_ratings.v1`; we
# ship them inside the `server` package, so the import is rewritten.
_IMPORT = re.compile(r"^from arena_ratings\.v1 import", re.MULTILINE)


def generate(out: Path = OUT) -> list[Path]:
    sources = sorted(PROTO_ROOT.rglob("*.proto"))
    out.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *[str(s) for s in sources],
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed")
    written = sorted(p for p in out.rglob("*") if p.suffix in {".py", ".pyi"})
    for path in written:
        text = _IMPORT.sub("from server.proto.arena_ratings.v1 import", path.read_text())
        path.write_text(text)
    for path in written:
        for package in [path.parent, *path.parent.parents]:
            (package / "__init__.py").touch()
            if package == out:
                break
    return written


if __name__ == "__main__":
    for path in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
