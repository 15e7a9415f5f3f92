"""The content-addressed attachment store (R: A-F4, A-F9)."""
from __future__ import annotations

import hashlib
import io
import os

import pytest

from eservice.files import FileStore, InvalidHashError
from eservice.store import NotFoundError

PDF = b"%PDF-1.7\n" + "แบบคำขอใบอนุญาต".encode("utf-8") * 100


@pytest.fixture
def files(tmp_path) -> FileStore:
    return FileStore(tmp_path / "files")


def stored_files(fs: FileStore) -> list[str]:
    return sorted(str(p.relative_to(fs.root)) for p in fs.root.rglob("*") if p.is_file())


def test_put_get_round_trip_named_by_sha256(files):  # R: A-F9
    sha = files.put(PDF)
    assert sha == hashlib.sha256(PDF).hexdigest()
    assert files.get(sha) == PDF and files.exists(sha) and files.verify(sha)
    assert files.path(sha) == files.root / sha[:2] / sha[2:4] / sha
    assert stored_files(files) == [f"{sha[:2]}/{sha[2:4]}/{sha}"]  # no temp file left behind
    with files.open(sha) as f:
        assert f.read(4) == b"%PDF"


def test_same_bytes_are_stored_once(files):
    sha = files.put(PDF)
    before = os.stat(files.path(sha)).st_mtime_ns
    assert files.put(bytes(PDF)) == sha
    assert files.put_stream(io.BytesIO(PDF)) == sha
    assert os.stat(files.path(sha)).st_mtime_ns == before  # not rewritten
    other = files.put(PDF + b"!")
    assert other != sha and len(stored_files(files)) == 2


def test_stream_and_file_uploads_match_put(files, tmp_path):
    chunks = [b"a" * 1_000_000, b"b" * 1_500_000, b""]
    sha = files.put_stream(iter(chunks))
    assert sha == hashlib.sha256(b"".join(chunks)).hexdigest() and files.verify(sha)
    assert files.get(sha) == b"".join(chunks)
    source = tmp_path / "scan.jpg"
    source.write_bytes(b"\xff\xd8\xff" + os.urandom(5000))
    assert files.put_file(source) == hashlib.sha256(source.read_bytes()).hexdigest()
    assert not any(p.is_file() for p in (files.root / "incoming").iterdir())


def test_verify_detects_a_tampered_file_and_put_repairs_it(files):  # R: A-F8 (content unchanged)
    sha = files.put(PDF)
    path = files.path(sha)
    tampered = bytearray(PDF)
    tampered[10] ^= 0x01
    path.write_bytes(bytes(tampered))  # same size, one bit flipped
    assert files.verify(sha) is False
    assert files.get(sha) == bytes(tampered)  # get does not hide it; verify is the check
    assert files.put(PDF) == sha and files.verify(sha)  # re-upload heals the copy


def test_missing_file(files):
    sha = hashlib.sha256(b"never stored").hexdigest()
    assert not files.exists(sha) and files.verify(sha) is False
    with pytest.raises(NotFoundError) as info:
        files.get(sha)
    assert "ไม่พบไฟล์" in str(info.value) and sha in info.value.en


@pytest.mark.parametrize("bad", [
    "../../etc/passwd",
    "ab/../../" + "0" * 55,
    "A" * 64,                                  # uppercase is not the canonical name
    "0" * 63,
    "0" * 65,
    "0" * 64 + "\n",
    "g" * 64,
    "/" + "0" * 63,
    None,
])
def test_malformed_hashes_are_rejected(files, bad):  # R: A-X2
    for call in (files.get, files.exists, files.verify, files.path, files.open):
        with pytest.raises(InvalidHashError):
            call(bad)
    assert isinstance(InvalidHashError("x"), ValueError)
