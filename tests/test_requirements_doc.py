"""Every requirement ID the code and tests cite is explained in docs/requirements.md
(issue #10 item 7), and the page lists only IDs of the catalogue's families.
# R: NF-1
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
DOC = ROOT / "docs" / "requirements.md"

# The catalogue's families; other `XX-123` tokens are names of standards or data
# (SHA-256, UTF-8, APP-1 in a test store), not requirement citations.
FAMILIES = ("A", "CH", "RC", "PR", "IS", "PL", "NF")
CITED = re.compile(r"(?<![\w\[\-^])((?:%s)-[A-Z]*\d+)\b" % "|".join(FAMILIES))
LISTED = re.compile(r"^- \*\*([A-Z]+-[A-Z]*\d+)\*\*", re.M)


def cited_ids() -> dict[str, str]:
    found: dict[str, str] = {}
    for folder in ("platform", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for match in CITED.finditer(path.read_text(encoding="utf-8")):
                found.setdefault(match.group(1), str(path.relative_to(ROOT)))
    return found


def test_every_cited_requirement_is_explained():
    listed = set(LISTED.findall(DOC.read_text(encoding="utf-8")))
    cited = cited_ids()
    assert len(cited) > 50, "the scan found the citations"
    missing = {rid: where for rid, where in cited.items() if rid not in listed}
    assert missing == {}, f"cited but not in docs/requirements.md: {missing}"


def test_each_id_is_listed_once_and_ranges_are_spelled_out():
    ids = LISTED.findall(DOC.read_text(encoding="utf-8"))
    assert len(ids) == len(set(ids))
    for family, last in (("A-A", 6), ("A-P", 8), ("PR-", 13), ("A-F", 10)):
        for n in range(1, last + 1):
            assert f"{family}{n}" in ids
