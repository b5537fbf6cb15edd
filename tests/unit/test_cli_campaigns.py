"""``memberpulse campaigns results``: the table's columns line up with Chinese text (every row of
the rendered table has the same terminal width), and the progress count."""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console

from memberpulse_cli.campaigns import handled, results_table, wordings

RESULTS = {
    "campaign_id": "c1",
    "status": "done",
    "arms": {
        "a": {
            "members": 800,
            "delivered": 790,
            "converted": 45,
            "revenue": 4455.0,
            "conversion_rate": 0.05625,
            "lift": {"estimate": 0.125, "ci95": [-0.3, 0.8]},
            "p_value": 0.61,
            "prob_beats_control": 0.69,
            "underpowered": True,
            "required_per_arm": 12000,
        },
        "control": {"members": 200, "delivered": 0, "converted": 10, "revenue": 990.0, "conversion_rate": 0.05},
    },
}


def test_results_table_lines_up_with_chinese_wordings() -> None:
    console = Console(record=True, width=200)
    shown = {"variants": [{"id": "a", "templates": {"zh-CN": "新火车到店啦！周末带孩子来试玩"}}]}
    results_table(RESULTS, wordings(shown), console)
    text = console.export_text()
    lines = [line for line in text.splitlines() if line.strip() and "results" not in line]
    assert len({cell_len(line.rstrip()) for line in lines if line.strip()[0] in "┃│┏┡└┗┣╇"}) == 1
    assert "新火车到店啦" in text and "underpowered: need 12000/arm" in text and "+12.5%" in text


def test_handled_counts_outcomes_and_control() -> None:
    progress = {
        "a": {"members": 10, "queued": 2, "deferred": 1, "sent": 5, "suppressed": 1, "capped": 1, "failed": 0},
        "control": {"members": 3},
    }
    assert handled(progress) == 5 + 1 + 1 + 1 + 3
