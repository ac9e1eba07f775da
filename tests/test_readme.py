"""The README's quick start runs as written and shows what it claims."""

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_quickstart_runs_and_mitigation_shrinks_the_gap():
    text = README.read_text()
    code = re.search(r"<!-- quickstart -->\s*```python\n(.*?)```", text, re.S).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    spd = {
        m.group(1): (float(m.group(2)), float(m.group(3)))
        for m in (re.match(r"(\w+)\s+accuracy ([\d.]+)\s+SPD ([-+\d.]+)", ln) for ln in lines)
        if m
    }
    assert set(spd) == {"baseline", "threshold"}
    base_acc, base_spd = spd["baseline"]
    fair_acc, fair_spd = spd["threshold"]
    # Adult: women are selected far less often by the unconstrained model
    assert base_spd < -0.1
    assert abs(fair_spd) < abs(base_spd) / 3
    assert fair_acc > base_acc - 0.05
    assert "selection_rate" in out.getvalue()
