"""An in-memory synthetic financial model (Workbook object) for engine tests and timings.

No file is involved (make bench measures files made by calcwire.workbook.generate).
Several sheets, months across and line items down, with growth chains,
SUM/SUMIFS totals, IF, INDEX/MATCH, a PMT/IPMT loan schedule, NPV/IRR/XNPV
valuation, cross-sheet links and defined names; every line item reads its own
absolute input row, so the model has many distinct formula texts.

    .venv/bin/python tools/synthetic_model.py 50000    # compile + calculate + what-if timings
"""

from __future__ import annotations

import sys
import time

from calcwire.formula import column_letters
from calcwire.workbook.model import Cell, DefinedName, Sheet, Workbook

MONTHS = 60


def build(target_formulas: int) -> Workbook:
    """A workbook with roughly ``target_formulas`` formula cells."""
    first = 3  # column C is month 1
    last = first + MONTHS - 1
    lc = column_letters(last)
    # Inputs: per line item a start value, a growth rate and a category.
    per_row = MONTHS + 4
    items = max(10, (target_formulas - 2_000) // per_row // 2)
    inputs = Sheet("Inputs")
    inputs.cells.append(Cell(1, 1, "Assumptions"))
    inputs.cells.append(Cell(2, 1, "Tax rate"))
    inputs.cells.append(Cell(2, 2, 0.25))
    inputs.cells.append(Cell(3, 1, "Discount rate"))
    inputs.cells.append(Cell(3, 2, 0.09))
    inputs.cells.append(Cell(4, 1, "Loan amount"))
    inputs.cells.append(Cell(4, 2, 1_000_000.0))
    inputs.cells.append(Cell(5, 1, "Loan rate"))
    inputs.cells.append(Cell(5, 2, 0.06))
    for i in range(items):
        r = 10 + i
        inputs.cells.append(Cell(r, 1, f"Item {i + 1}"))
        inputs.cells.append(Cell(r, 2, 1000.0 + 37 * i))
        inputs.cells.append(Cell(r, 3, 0.01 + (i % 7) * 0.002))
        inputs.cells.append(Cell(r, 4, ["Product", "Service", "Other"][i % 3]))
    names = [
        DefinedName("TaxRate", "Inputs!$B$2"),
        DefinedName("DiscountRate", "Inputs!$B$3"),
        DefinedName("LoanAmount", "Inputs!$B$4"),
        DefinedName("LoanRate", "Inputs!$B$5"),
    ]

    def operating_sheet(name: str, sign: float) -> Sheet:
        sh = Sheet(name)
        sh.cells.append(Cell(1, 1, name))
        sh.cells.append(Cell(2, 1, "Month"))
        for m in range(MONTHS):
            c = first + m
            sh.cells.append(Cell(2, c, float(m + 1)))
        for i in range(items):
            r = 5 + i
            ir = 10 + i
            sh.cells.append(Cell(r, 1, f"Item {i + 1}"))
            sh.cells.append(Cell(r, 2, None, f"Inputs!$D${ir}"))
            sh.cells.append(Cell(r, first, None, f"Inputs!$B${ir}*{sign}"))
            for m in range(1, MONTHS):
                c = first + m
                prev = column_letters(c - 1)
                sh.cells.append(
                    Cell(
                        r,
                        c,
                        None,
                        f"IF({prev}$2>=12,{prev}{r}*(1+Inputs!$C${ir}),{prev}{r}*(1+Inputs!$C${ir}/2))",
                    )
                )
        tr = 5 + items + 1
        sh.cells.append(Cell(tr, 1, "Total"))
        for m in range(MONTHS):
            col = column_letters(first + m)
            sh.cells.append(Cell(tr, first + m, None, f"SUM({col}5:{col}{tr - 2})"))
        for k, cat in enumerate(["Product", "Service", "Other"]):
            sh.cells.append(Cell(tr + 1 + k, 1, cat))
            for m in range(MONTHS):
                col = column_letters(first + m)
                sh.cells.append(
                    Cell(
                        tr + 1 + k,
                        first + m,
                        None,
                        f'SUMIFS({col}5:{col}{tr - 2},$B$5:$B${tr - 2},"{cat}")',
                    )
                )
        return sh

    revenue = operating_sheet("Revenue", 1.0)
    costs = operating_sheet("Costs", 0.6)
    tr = 5 + items + 1
    # Debt: a loan schedule with PMT/IPMT.
    debt = Sheet("Debt")
    debt.cells.append(Cell(1, 1, "Debt"))
    debt.cells.append(Cell(3, 1, "Opening"))
    debt.cells.append(Cell(4, 1, "Interest"))
    debt.cells.append(Cell(5, 1, "Payment"))
    debt.cells.append(Cell(6, 1, "Closing"))
    for m in range(MONTHS):
        c = first + m
        col = column_letters(c)
        prev = column_letters(c - 1)
        debt.cells.append(Cell(2, c, float(m + 1)))
        debt.cells.append(Cell(3, c, None, "LoanAmount" if m == 0 else f"{prev}6"))
        debt.cells.append(Cell(4, c, None, f"-IPMT(LoanRate/12,{col}$2,{MONTHS},LoanAmount)"))
        debt.cells.append(Cell(5, c, None, f"-PMT(LoanRate/12,{MONTHS},LoanAmount)"))
        debt.cells.append(Cell(6, c, None, f"{col}3+{col}4-{col}5"))
    # Summary: cross-sheet P&L with INDEX/MATCH.
    summary = Sheet("Summary")
    summary.cells.append(Cell(1, 1, "Summary"))
    summary.cells.append(Cell(2, 1, "Month"))
    rows = [
        "Revenue",
        "Costs",
        "EBITDA",
        "Interest",
        "EBT",
        "Tax",
        "Net income",
        "Cash flow",
        "Check",
    ]
    for k, label in enumerate(rows):
        summary.cells.append(Cell(3 + k, 1, label))
    for m in range(MONTHS):
        c = first + m
        col = column_letters(c)
        summary.cells.append(Cell(2, c, float(m + 1)))
        summary.cells.append(
            Cell(
                3,
                c,
                None,
                f"INDEX(Revenue!$C${tr}:${lc}${tr},MATCH({col}$2,Revenue!$C$2:${lc}$2,0))",
            )
        )
        summary.cells.append(Cell(4, c, None, f"Costs!{col}{tr}"))
        summary.cells.append(Cell(5, c, None, f"{col}3-{col}4"))
        summary.cells.append(Cell(6, c, None, f"Debt!{col}4"))
        summary.cells.append(Cell(7, c, None, f"{col}5-{col}6"))
        summary.cells.append(Cell(8, c, None, f"MAX(0,{col}7*TaxRate)"))
        summary.cells.append(Cell(9, c, None, f"{col}7-{col}8"))
        summary.cells.append(Cell(10, c, None, f"{col}9-Debt!{col}5+Debt!{col}4"))
        summary.cells.append(
            Cell(11, c, None, f"ROUND({col}3-SUM(Revenue!{col}{tr + 1}:{col}{tr + 3}),6)")
        )
    # Valuation.
    valuation = Sheet("Valuation")
    valuation.cells.append(Cell(1, 1, "Valuation"))
    valuation.cells.append(Cell(2, 1, "NPV"))
    valuation.cells.append(Cell(2, 2, None, f"NPV(DiscountRate/12,Summary!C10:{lc}10)"))
    valuation.cells.append(Cell(3, 1, "IRR"))
    valuation.cells.append(Cell(3, 2, None, f"IRR(B6:{column_letters(MONTHS + 2)}6)"))
    valuation.cells.append(Cell(4, 1, "XNPV"))
    valuation.cells.append(
        Cell(
            4,
            2,
            None,
            f"XNPV(DiscountRate,B6:{column_letters(MONTHS + 2)}6,B7:{column_letters(MONTHS + 2)}7)",
        )
    )
    valuation.cells.append(Cell(6, 2, -5_000_000.0))
    valuation.cells.append(Cell(7, 2, 45000.0))
    for m in range(MONTHS):
        c = 3 + m
        col = column_letters(c)
        prev = column_letters(c - 1)
        valuation.cells.append(Cell(6, c, None, f"Summary!{column_letters(first + m)}10"))
        valuation.cells.append(Cell(7, c, None, f"EDATE({prev}7,1)"))
    for sh in (inputs, revenue, costs, debt, summary, valuation):
        sh.cells.sort(key=lambda cell: (cell.row, cell.col))
    return Workbook(sheets=[inputs, revenue, costs, debt, summary, valuation], names=names)


def main() -> None:
    from eval_svc.engine import compile_workbook

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    t0 = time.perf_counter()
    wb = build(n)
    t1 = time.perf_counter()
    formulas = sum(1 for s in wb.sheets for c in s.cells if c.formula)
    model = compile_workbook(wb)
    t2 = time.perf_counter()
    results = model.calculate()
    t3 = time.perf_counter()
    bad = [r for r in results if r.status != "computed"]
    changed = model.set_values({"Inputs!C12": 0.05})
    t4 = time.perf_counter()
    changed2 = model.set_values({"TaxRate": 0.3})
    t5 = time.perf_counter()
    print(
        f"{formulas} formulas: build {t1 - t0:.2f}s, compile {t2 - t1:.2f}s, "
        f"calculate {t3 - t2:.2f}s ({formulas / (t3 - t1):,.0f} cells/s), "
        f"what-if {changed} cells {1000 * (t4 - t3):.0f} ms, {changed2} cells {1000 * (t5 - t4):.0f} ms; "
        f"not computed: {len(bad)}"
    )
    print("NPV", model.value("Valuation!B2"), "IRR", model.value("Valuation!B3"))


if __name__ == "__main__":
    main()
