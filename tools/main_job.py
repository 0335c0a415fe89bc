"""The main job, through the gateway, as ``make run`` shows it (after ``make up``).

    python tools/main_job.py [--run-dir .run] [--out bench-out] [--formula-cells N]

1. reads the gateway's address and the development API key that ``make up``
   wrote to ``<run-dir>/stack.env``;
2. generates a sample financial model whose tax rate was changed and saved
   without recalculating (``tools/sample.py``: stale values);
3. ``calcwire import`` uploads it with live progress (import, evaluation,
   validation) and prints the validation summary: the stale cells;
4. ``calcwire calc`` asks what-if questions on the stored model: the valuation
   at the tax rate the file holds now, and at the rate its cached values were
   computed with.

Exit status 0 when all of that worked (the import finding mismatches is the
expected outcome), else the failing command's status.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CALCWIRE = Path(sys.executable).with_name("calcwire")
OUTPUTS = ("Valuation!B16", "Valuation!B18", "Valuation!B22")  # NPV, equity IRR, total tax


def stack_env(run_dir: Path) -> dict[str, str]:
    path = run_dir / "stack.env"
    if not path.is_file():
        sys.exit(f"{path} not found: start the stack with `make up` first")
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs}


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", type=Path, default=ROOT / ".run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out")
    parser.add_argument("--formula-cells", type=int, default=10_000)
    args = parser.parse_args()

    env = {**os.environ, **stack_env(args.run_dir)}
    print(f"gateway {env['CALCWIRE_TARGET']}, API key of tenant 'dev' from "
          f"{args.run_dir / 'stack.env'}")

    step("a generated financial model, saved with a stale tax rate")
    subprocess.run([sys.executable, str(ROOT / "tools" / "sample.py"), str(args.out),
                    "--formula-cells", str(args.formula_cells)], check=True)
    stale = args.out / "sample-stale.xlsx"

    step(f"calcwire import {stale.relative_to(ROOT) if stale.is_relative_to(ROOT) else stale}")
    # stdout is read line by line (to learn the model's name) and shown as it comes;
    # stderr, the live progress, goes straight to the terminal.
    model = None
    with subprocess.Popen([str(CALCWIRE), "import", str(stale), "--name", "sample (stale)"],
                          env=env, stdout=subprocess.PIPE, text=True) as importing:
        assert importing.stdout is not None
        for line in importing.stdout:
            print(line, end="", flush=True)
            if line.startswith("model models/") and model is None:
                model = line.split()[1]
    if importing.returncode not in (0, 1) or model is None:
        print(f"calcwire import failed (exit status {importing.returncode})", file=sys.stderr)
        return importing.returncode or 1
    print(f"(exit status {importing.returncode}: "
          f"{'mismatches found, as expected' if importing.returncode else 'no mismatch'})")

    gets = [arg for ref in OUTPUTS for arg in ("--get", ref)]
    step("what-if: the valuation at the tax rate the file holds now (30 %)")
    done = subprocess.run([str(CALCWIRE), "calc", model, "--get", "TaxRate", *gets], env=env,
                          check=False)
    if done.returncode:
        return done.returncode
    step("what-if: at 25 %, the rate its cached values were computed with")
    done = subprocess.run([str(CALCWIRE), "calc", model, "--set", "TaxRate=25%", *gets],
                          env=env, check=False)
    if done.returncode:
        return done.returncode

    print(f"\nThe model stays in the stack: calcwire models show {model}; "
          f"calcwire cells {model} --mismatches.\n"
          "(set -a; . .run/stack.env; set +a puts the target and key in your shell.) "
          "Stop everything with: make down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
