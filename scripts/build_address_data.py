#!/usr/bin/env python3
"""Build plugins/data/thai_address.json.gz, the offline Thai address dataset.

Source: the PyPI package ``geothai`` (GeoThai, by Pongsakorn Thipayanate), a
pinned wheel whose SHA-256 is checked.  Its data (DOPA administrative codes and
Thai/English names, Thailand Post postcodes) is licensed CC BY 4.0; the code is
MIT.  See plugins/data/README.md for the attribution.

Usage (from the repository root)::

    python scripts/build_address_data.py               # pip-downloads the pinned wheel
    python scripts/build_address_data.py --wheel PATH  # or use a wheel you already have

The output is deterministic: the same wheel always gives byte-identical output
(sorted rows, compact JSON, gzip header without a timestamp), so a rebuild shows
up in a diff only when the data really changed.

Output format (JSON, gzip)::

    {"meta": {source, version, data_version, licence, attribution, notice, counts},
     "provinces":    [[code2, name_th, name_en], ...],
     "districts":    [[code4, name_th, name_en], ...],
     "subdistricts": [[code6, name_th, name_en, "postcode[ postcode...]"], ...]}

A district's code starts with its province's code, and a subdistrict's with its
district's.  District names are stored without the word เขต/อำเภอ (GeoThai
keeps "เขต" on Bangkok's districts; it is stripped here so that every level is
a bare name and the word for the level is added when displayed).
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "geothai"
VERSION = "3.2.1"
WHEEL = f"{PACKAGE}-{VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "d4d41349c0c8ad07a579956b95d39f7b191426b5681daf66ab1ee522122d8e9b"

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "plugins" / "data" / "thai_address.json.gz"

EXPECTED = {"provinces": 77, "districts": 928, "subdistricts": 7436}


def fetch_wheel(dest: Path) -> Path:
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--only-binary=:all:", "--dest", str(dest), f"{PACKAGE}=={VERSION}",
        ],
        check=True,
    )
    return dest / WHEEL


def read_wheel(path: Path) -> tuple[dict[str, list], dict[str, str]]:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        sys.exit(f"{path}: SHA-256 {digest}, expected {WHEEL_SHA256}; refusing to build")
    with zipfile.ZipFile(path) as z:
        tables = {
            name: json.loads(z.read(f"geothai/_data/{name}.json").decode("utf-8"))
            for name in ("provinces", "districts", "subdistricts")
        }
        info = {
            "notice": z.read(f"geothai-{VERSION}.dist-info/licenses/NOTICE").decode("utf-8"),
            "license": z.read(f"geothai-{VERSION}.dist-info/licenses/LICENSE").decode("utf-8"),
        }
        schema = z.read("geothai/_schema.py").decode("utf-8")
    m = re.search(r'DATA_VERSION: str = "([^"]+)"', schema)
    info["data_version"] = m.group(1) if m else ""
    return tables, info


def convert(tables: dict[str, list]) -> dict[str, list]:
    provinces = sorted([code, th.strip(), en.strip()] for code, th, en in tables["provinces"])
    districts = []
    for code, th, en in tables["districts"]:
        th = th.strip()
        for word in ("เขต", "อำเภอ"):
            if th.startswith(word):
                th = th[len(word):].strip()
        districts.append([code, th, en.strip()])
    districts.sort()
    subdistricts = sorted(
        [code, th.strip(), en.strip(), " ".join(sorted(set(postal.split())))]
        for code, th, en, postal in tables["subdistricts"]
    )
    return {"provinces": provinces, "districts": districts, "subdistricts": subdistricts}


def check(data: dict[str, list]) -> None:
    problems = []
    for table, want in EXPECTED.items():
        if len(data[table]) != want:
            problems.append(f"{table}: {len(data[table])} rows, expected {want}")
    province_codes = {row[0] for row in data["provinces"]}
    district_codes = {row[0] for row in data["districts"]}
    for code, th, en in data["provinces"]:
        if not re.fullmatch(r"\d{2}", code) or not th or not en:
            problems.append(f"province {code}: bad row")
    for code, th, en in data["districts"]:
        if not re.fullmatch(r"\d{4}", code) or code[:2] not in province_codes or not th:
            problems.append(f"district {code}: bad row or unknown province")
    for code, th, en, postal in data["subdistricts"]:
        if not re.fullmatch(r"\d{6}", code) or code[:4] not in district_codes or not th:
            problems.append(f"subdistrict {code}: bad row or unknown district")
        if not re.fullmatch(r"\d{5}( \d{5})*", postal):
            problems.append(f"subdistrict {code}: bad postcode {postal!r}")
    used = {row[0][:4] for row in data["subdistricts"]}
    problems += [f"district {c} has no subdistrict" for c in sorted(district_codes - used)]
    if sum(1 for c in district_codes if c.startswith("10")) != 50:
        problems.append("Bangkok does not have 50 districts")
    if problems:
        sys.exit("dataset check failed:\n  " + "\n  ".join(problems))


def build(wheel: Path, output: Path) -> None:
    tables, info = read_wheel(wheel)
    data = convert(tables)
    check(data)
    meta = {
        "source": f"PyPI package {PACKAGE} {VERSION} (GeoThai)",
        "source_url": "https://pypi.org/project/geothai/",
        "wheel_sha256": WHEEL_SHA256,
        "data_version": info["data_version"],
        "licence": "CC-BY-4.0 (data); MIT (geothai code and thailand-geography-json)",
        "attribution": "Thai address data: GeoThai (Pongsakorn Thipayanate), CC BY 4.0, "
        "from DOPA (กรมการปกครอง) and Thailand Post (ไปรษณีย์ไทย) data. "
        "Changed: reshaped into one file; the word เขต removed from Bangkok district names.",
        "notice": info["notice"],
        "geothai_license": info["license"],
        "counts": {k: len(v) for k, v in data.items()},
    }
    payload = json.dumps({"meta": meta, **data}, ensure_ascii=False, separators=(",", ":"))
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(payload.encode("utf-8"))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(buf.getvalue())
    print(
        f"wrote {output} ({output.stat().st_size:,} bytes): "
        + ", ".join(f"{n:,} {k}" for k, n in meta["counts"].items())
        + f"; GeoThai data {info['data_version']}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help=f"a downloaded {WHEEL}")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    if args.wheel:
        build(args.wheel, args.output)
        return
    with tempfile.TemporaryDirectory() as tmp:
        build(fetch_wheel(Path(tmp)), args.output)


if __name__ == "__main__":
    main()
