"""cfn-lint on the synthesized template."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

# W3005 ("DependsOn is redundant"): CDK adds explicit DependsOn (role policy before the function) that is also
# implied by Ref/GetAtt; harmless and not ours to change.
IGNORED = "W3005"


# cfnlint has no __main__ (no `python -m cfnlint`): use the console script installed beside this interpreter.
def test_template_passes_cfn_lint(cxm_template: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "cxm-dev.template.json"
    path.write_text(json.dumps(cxm_template, indent=1))
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--ignore-checks", IGNORED, "--", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
