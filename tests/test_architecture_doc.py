"""docs/architecture.md tells the registry as it is: its graph is the generated one, and it names every asset."""

import re
from pathlib import Path

from supplyfit.assets import RESULTS, SOURCES, STAGES, asset_graph_mermaid

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def test_the_mermaid_block_is_the_generated_graph():
    blocks = re.findall(r"```mermaid\n(.*?)\n```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert blocks == [asset_graph_mermaid()], "regenerate it: python -m supplyfit.assets --mermaid"


def test_every_asset_is_named_outside_the_graph_too():
    prose = re.sub(r"```mermaid\n.*?\n```", "", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    names = [*SOURCES, *(s.name for s in STAGES), *(f"supplyfit {s.command}" for s in STAGES), *RESULTS]
    assert [n for n in names if not re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", prose)] == []
