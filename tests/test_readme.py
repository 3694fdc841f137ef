import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shell_blocks(text):
    return re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)


def test_ci_runs_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    test_section = readme.split("## Tests", 1)[1]
    command = shell_blocks(test_section)[0].strip()
    ci_lines = [
        line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
    ]
    assert command in ci_lines


def test_readme_demo_command_installs_torch_first():
    readme = (ROOT / "README.md").read_text()
    install = readme.split("## Install and run the demo", 1)[1]
    command = shell_blocks(install)[0].strip()
    assert command.endswith("twin-gym demo")
    assert command.index("torch==2.13.0") < command.index("[train]")
