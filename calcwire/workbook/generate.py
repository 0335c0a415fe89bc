"""Generates a monthly financial model of any size, with the values its formulas give.

The model is the kind calcwire is for: an Inputs sheet (assumptions, a
scenario table picked with INDEX/MATCH, a product table), Operations (one
block of rows per product, months across: growth chains, annual price steps
with IF/MOD, revenue, COGS, SUMIFS totals, running sums), Debt (a PMT/IPMT loan
schedule) and Valuation (tax with MAX, cash flows, discount factors, NPV, IRR,
XNPV, INDEX/MATCH look-ups), linked across sheets and through defined names of
workbook and sheet scope. Its size is set by the number of formula cells wanted
(1,000 to millions); the number of products grows with it.

Every formula cell carries, as its cached value, the result computed here in
plain Python, independently of any engine, as Excel would have saved it. So a
generated file is a workbook "computed by Excel" whose right answers are
known: the benchmarks check that the engine gets them, and tests make stale
files by changing an input and keeping these values.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Final

from calcwire.formula import column_letters
from calcwire.values import CellValue
from calcwire.workbook.model import CalcSettings, Cell, DefinedName, Sheet, Workbook

__all__ = ["ModelShape", "generate_model", "make_stale", "model_shape"]

_MONEY: Final = "#,##0"
_PERCENT: Final = "0.0%"
_DATE: Final = "yyyy-mm-dd"
_FIRST_COL: Final = 3  # months start in column C
_PRODUCT_ROW: Final = 25  # first row of the product table on Inputs
_BLOCK: Final = 5  # rows per product in the product blocks of Operations
_FORMULA_ROWS_PER_PRODUCT: Final = 6  # the block, and the product's share row below the totals
_FIRST_BLOCK_ROW: Final = 6
_EXCEL_EPOCH: Final = dt.date(1899, 12, 30)
_SCENARIOS: Final = (("Base", 0.010, 0.030, 0.55), ("Upside", 0.015, 0.035, 0.50),
                     ("Downside", 0.004, 0.020, 0.60))


@dataclass(frozen=True, slots=True)
class ModelShape:
    """How big a generated model is: months across, products down."""

    months: int
    products: int

    @property
    def formula_cells(self) -> int:
        """The exact number of formula cells :func:`generate_model` writes for this shape."""
        m = self.months
        return (3 + (3 * m - 1) + 7 * m + 7 * m + 12 * m + 9
                + _FORMULA_ROWS_PER_PRODUCT * m * self.products)


def model_shape(formula_cells: int) -> ModelShape:
    """The shape whose formula count is closest to ``formula_cells``."""
    months = 12
    for candidate in (120, 60, 24):
        if formula_cells >= 35 * candidate:
            months = candidate
            break
    fixed = ModelShape(months, 0).formula_cells
    products = max(1, round((formula_cells - fixed) / (_FORMULA_ROWS_PER_PRODUCT * months)))
    return ModelShape(months, products)


def generate_model(formula_cells: int = 10_000, *, seed: int = 7,
                   shape: ModelShape | None = None) -> Workbook:
    """A financial model with about ``formula_cells`` formulas and their computed values."""
    return _ModelBuilder(shape or model_shape(formula_cells), random.Random(seed)).build()


# --------------------------------------------------------------------------- building


def make_stale(workbook: Workbook, tax_rate: float = 0.30) -> Workbook:
    """``workbook`` (from :func:`generate_model`) after someone changed the tax rate
    (Inputs!B5, 25% by default) and saved in manual calculation mode without
    recalculating: every cell that depends on the tax rate keeps a stale value."""
    inputs = workbook.sheets[0]
    tax = next(c for c in inputs.cells if (c.row, c.col) == (5, 2))
    tax.value = tax_rate
    workbook.calc = CalcSettings(mode="manual")
    return workbook


def _col(month: int) -> str:
    return column_letters(_FIRST_COL + month - 1)


def _serial(day: dt.date) -> float:
    return float((day - _EXCEL_EPOCH).days)


def _date(serial: float) -> dt.date:
    return _EXCEL_EPOCH + dt.timedelta(days=int(serial))


def _edate(serial: float, months: int) -> float:
    day = _date(serial)
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    return _serial(dt.date(year, month + 1, 1).replace(day=min(day.day, 28)))


def _pmt(rate: float, periods: int, pv: float) -> float:
    growth = (1 + rate) ** periods
    return -(pv * growth * rate) / (growth - 1)


def _ipmt(rate: float, period: int, periods: int, pv: float) -> float:
    pmt = _pmt(rate, periods, pv)
    growth = (1 + rate) ** (period - 1)
    balance = -(pv * growth + pmt * (growth - 1) / rate)  # FV after period - 1 payments
    return balance * rate


def _npv(rate: float, values: list[float]) -> float:
    total = 0.0
    for i, v in enumerate(values, start=1):
        total += v / (1 + rate) ** i
    return total


def _xnpv(rate: float, values: list[float], dates: list[float]) -> float:
    total = 0.0
    for v, d in zip(values, dates, strict=True):
        total += v / (1 + rate) ** ((d - dates[0]) / 365)
    return total


def _irr(values: list[float], guess: float = 0.1) -> float:
    """The rate where the NPV of ``values`` (first at t=0) is zero, by Newton from ``guess``."""
    rate = guess
    for _ in range(200):
        npv = sum(v / (1 + rate) ** t for t, v in enumerate(values))
        slope = sum(-t * v / (1 + rate) ** (t + 1) for t, v in enumerate(values))
        step = npv / slope
        rate -= step
        if abs(step) < 1e-15 * max(1.0, abs(rate)):
            break
    return rate


class _ModelBuilder:
    def __init__(self, shape: ModelShape, rng: random.Random) -> None:
        self.m = shape.months
        self.p = shape.products
        self.rng = rng
        self.sheets = {name: Sheet(name) for name in ("Inputs", "Operations", "Debt", "Valuation")}
        self.last = column_letters(_FIRST_COL + self.m - 1)

    # Cells ---------------------------------------------------------------

    def put(self, sheet: str, row: int, col: int, value: CellValue, formula: str | None = None,
            number_format: str = "General") -> None:
        self.sheets[sheet].cells.append(Cell(row, col, value, formula=formula,
                                             number_format=number_format))

    def label(self, sheet: str, row: int, text: str, col: int = 2) -> None:
        self.put(sheet, row, col, text)

    def across(self, sheet: str, row: int, template: str, values: list[float],
               number_format: str = _MONEY, *, first: str | None = None) -> list[float]:
        """One formula per month, from ``template`` with ``{c}`` the month's column and
        ``{pc}`` the previous one (``first`` for the first month, when it differs)."""
        for month in range(1, self.m + 1):
            text = first if month == 1 and first is not None else template
            formula = text.format(c=_col(month), pc=_col(month - 1) if month > 1 else "")
            self.put(sheet, row, _FIRST_COL + month - 1, values[month - 1], formula,
                     number_format)
        return values

    # The model -----------------------------------------------------------

    def build(self) -> Workbook:
        inputs = self.inputs()
        ops = self.operations(inputs)
        debt = self.debt(inputs)
        self.valuation(inputs, ops, debt)
        for sheet in self.sheets.values():
            sheet.cells.sort(key=lambda c: (c.row, c.col))
        names = [
            DefinedName("StartDate", "Inputs!$B$3"),
            DefinedName("Scenario", "Inputs!$B$4"),
            DefinedName("TaxRate", "Inputs!$B$5"),
            DefinedName("DiscountRate", "Inputs!$B$6"),
            DefinedName("LoanAmount", "Inputs!$B$7"),
            DefinedName("InterestRate", "Inputs!$B$8"),
            DefinedName("LoanTerm", "Inputs!$B$9"),
            DefinedName("TargetMonth", "Inputs!$B$13"),
            DefinedName("Growth", "Inputs!$B$20"),
            DefinedName("Inflation", "Inputs!$B$21"),
            DefinedName("CogsPct", "Inputs!$B$22"),
            DefinedName("CashFlows", f"Valuation!$C$11:${self.last}$11", scope="Valuation"),
        ]
        return Workbook(sheets=list(self.sheets.values()), names=names, calc=CalcSettings())

    def inputs(self) -> dict[str, float]:
        s = "Inputs"
        m, p = self.m, self.p
        self.put(s, 1, 1, "Assumptions")
        values: dict[str, float] = {
            "start": _serial(dt.date(2024, 1, 1)),
            "tax": 0.25,
            "discount": 0.10,
            "loan": 100_000.0 * p,
            "interest": 0.06,
            "term": float(max(12, m * 3 // 4)),
            "opex": 10_000.0 * p,
            "opex_growth": 0.002,
            "equity": 0.0,  # set once the cash flows are known
            "target": float(m // 2),
        }
        rows = [(3, "Start date", "start", _DATE), (5, "Tax rate", "tax", _PERCENT),
                (6, "Discount rate (annual)", "discount", _PERCENT),
                (7, "Loan amount", "loan", _MONEY), (8, "Interest rate (annual)", "interest",
                                                     _PERCENT),
                (9, "Loan term (months)", "term", "0"), (10, "Monthly opex", "opex", _MONEY),
                (11, "Opex growth (monthly)", "opex_growth", "0.00%"),
                (13, "Target month", "target", "0")]
        for row, text, key, fmt in rows:
            self.label(s, row, text, col=1)
            self.put(s, row, 2, values[key], number_format=fmt)
        self.label(s, 4, "Scenario", col=1)
        self.put(s, 4, 2, "Base")
        self.label(s, 12, "Equity invested", col=1)  # B12 is written in valuation()

        for col, text in enumerate(("Scenario", "Growth", "Inflation", "COGS %"), start=1):
            self.put(s, 15, col, text)
        for i, (name, growth, inflation, cogs) in enumerate(_SCENARIOS):
            row = 16 + i
            self.put(s, row, 1, name)
            self.put(s, row, 2, growth, number_format=_PERCENT)
            self.put(s, row, 3, inflation, number_format=_PERCENT)
            self.put(s, row, 4, cogs, number_format=_PERCENT)
        base = _SCENARIOS[0]
        for row, text, col_letter, value in ((20, "Growth", "B", base[1]),
                                             (21, "Inflation", "C", base[2]),
                                             (22, "COGS %", "D", base[3])):
            self.label(s, row, text, col=1)
            self.put(s, row, 2, value,
                     f"INDEX(${col_letter}$16:${col_letter}$18,MATCH(Scenario,$A$16:$A$18,0))",
                     _PERCENT)
        values["growth"], values["inflation"], values["cogs"] = base[1], base[2], base[3]

        for col, text in enumerate(("Product", "Start units", "Start price", "Growth factor"),
                                   start=1):
            self.put(s, _PRODUCT_ROW - 1, col, text)
        for i in range(p):
            row = _PRODUCT_ROW + i
            units = float(self.rng.randrange(1_000, 5_000))
            price = round(self.rng.uniform(10.0, 60.0), 2)
            factor = round(self.rng.uniform(0.5, 1.5), 3)
            self.put(s, row, 1, f"Product {i + 1}")
            self.put(s, row, 2, units, number_format=_MONEY)
            self.put(s, row, 3, price, number_format="#,##0.00")
            self.put(s, row, 4, factor, number_format="0.000")
            values[f"units{i}"], values[f"price{i}"], values[f"factor{i}"] = units, price, factor
        return values

    def operations(self, inp: dict[str, float]) -> dict[str, list[float]]:
        s = "Operations"
        m = self.m
        self.put(s, 1, 1, "Operations")
        self.label(s, 2, "Month")
        self.put(s, 2, _FIRST_COL, 1.0, number_format="0")
        for month in range(2, m + 1):
            self.put(s, 2, _FIRST_COL + month - 1, float(month),
                     f"{_col(month - 1)}2+1", "0")
        self.label(s, 3, "Date")
        dates = [inp["start"]]
        for _ in range(1, m):
            dates.append(_edate(dates[-1], 1))
        self.across(s, 3, "EDATE({pc}3,1)", dates, _DATE, first="StartDate")
        self.label(s, 4, "Year")
        self.across(s, 4, "YEAR({c}3)", [float(_date(d).year) for d in dates], "0")

        last_row = _FIRST_BLOCK_ROW + _BLOCK * self.p - 1
        totals = last_row + 2
        revenue_rows: list[list[float]] = []
        cogs_rows: list[list[float]] = []
        for i in range(self.p):
            r = _FIRST_BLOCK_ROW + _BLOCK * i
            prow = _PRODUCT_ROW + i
            self.put(s, r, 1, f"Product {i + 1}")
            for k, text in enumerate(("Units", "Price", "Revenue", "COGS", "Gross profit")):
                self.label(s, r + k, text)
            units = [inp[f"units{i}"]]
            step = inp["growth"] * inp[f"factor{i}"]
            for _ in range(1, m):
                units.append(units[-1] * (1 + step))
            self.across(s, r, f"{{pc}}{r}*(1+Growth*Inputs!$D${prow})", units,
                        first=f"Inputs!$B${prow}")
            price = [inp[f"price{i}"]]
            for month in range(2, m + 1):
                price.append(price[-1] * (1 + inp["inflation"]) if month % 12 == 1
                             else price[-1])
            self.across(s, r + 1, f"IF(MOD({{c}}$2,12)=1,{{pc}}{r + 1}*(1+Inflation),{{pc}}{r + 1})",
                        price, "#,##0.00", first=f"Inputs!$C${prow}")
            revenue = [u * q for u, q in zip(units, price, strict=True)]
            self.across(s, r + 2, f"{{c}}{r}*{{c}}{r + 1}", revenue)
            cogs = [-v * inp["cogs"] for v in revenue]
            self.across(s, r + 3, f"-{{c}}{r + 2}*CogsPct", cogs)
            self.across(s, r + 4, f"{{c}}{r + 2}+{{c}}{r + 3}",
                        [a + b for a, b in zip(revenue, cogs, strict=True)])
            revenue_rows.append(revenue)
            cogs_rows.append(cogs)

        total_revenue = [sum(col) for col in zip(*revenue_rows, strict=True)]
        total_cogs = [sum(col) for col in zip(*cogs_rows, strict=True)]
        # Shares below the totals: inside the SUMIFS ranges they would make a circular reference.
        shares = totals + 8
        self.put(s, shares, 1, "Share of revenue")
        for i, revenue in enumerate(revenue_rows):
            r = _FIRST_BLOCK_ROW + _BLOCK * i
            self.label(s, shares + 1 + i, f"Product {i + 1}")
            self.across(s, shares + 1 + i,
                        f"IF({{c}}${totals}=0,0,{{c}}{r + 2}/{{c}}${totals})",
                        [0.0 if t == 0 else v / t
                         for v, t in zip(revenue, total_revenue, strict=True)], _PERCENT)

        t = totals
        labels = ("Total revenue", "Total COGS", "Gross profit", "Opex", "EBITDA",
                  "Cumulative revenue", "EBITDA margin")
        for k, text in enumerate(labels):
            self.label(s, t + k, text)
        span = f"$B${_FIRST_BLOCK_ROW}:$B${last_row}"
        self.across(s, t, f'SUMIFS({{c}}${_FIRST_BLOCK_ROW}:{{c}}${last_row},{span},"Revenue")',
                    total_revenue)
        self.across(s, t + 1, f'SUMIFS({{c}}${_FIRST_BLOCK_ROW}:{{c}}${last_row},{span},"COGS")',
                    total_cogs)
        gross = [a + b for a, b in zip(total_revenue, total_cogs, strict=True)]
        self.across(s, t + 2, f"{{c}}{t}+{{c}}{t + 1}", gross)
        opex = [-inp["opex"]]
        for _ in range(1, m):
            opex.append(opex[-1] * (1 + inp["opex_growth"]))
        self.across(s, t + 3, f"{{pc}}{t + 3}*(1+Inputs!$B$11)", opex, first="-Inputs!$B$10")
        ebitda = [a + b for a, b in zip(gross, opex, strict=True)]
        self.across(s, t + 4, f"{{c}}{t + 2}+{{c}}{t + 3}", ebitda)
        running, cumulative = 0.0, []
        for v in total_revenue:
            running += v
            cumulative.append(running)
        self.across(s, t + 5, f"SUM($C{t}:{{c}}{t})", cumulative)
        margin = [0.0 if r == 0 else e / r for e, r in zip(ebitda, total_revenue, strict=True)]
        self.across(s, t + 6, f"IF({{c}}{t}=0,0,{{c}}{t + 4}/{{c}}{t})", margin, _PERCENT)
        return {"dates": dates, "revenue": total_revenue, "ebitda": ebitda, "margin": margin,
                "totals_row": [float(t)]}

    def debt(self, inp: dict[str, float]) -> dict[str, list[float]]:
        s = "Debt"
        m = self.m
        self.put(s, 1, 1, "Debt schedule")
        rate, term, loan = inp["interest"] / 12, int(inp["term"]), inp["loan"]
        self.label(s, 2, "Month")
        self.across(s, 2, "Operations!{c}$2", [float(mo) for mo in range(1, m + 1)], "0")
        self.label(s, 3, "Date")
        self.across(s, 3, "Operations!{c}$3", [_edate(inp["start"], mo) for mo in range(m)],
                    _DATE)
        payment = [_pmt(rate, term, -loan) if mo <= term else 0.0 for mo in range(1, m + 1)]
        interest = [_ipmt(rate, mo, term, -loan) if mo <= term else 0.0
                    for mo in range(1, m + 1)]
        principal = [a - b for a, b in zip(payment, interest, strict=True)]
        opening, closing = [], []
        balance = loan
        for k in range(m):
            opening.append(balance)
            balance = balance - principal[k]
            closing.append(balance)
        for k, text in enumerate(("Opening balance", "Payment", "Interest", "Principal",
                                  "Closing balance")):
            self.label(s, 5 + k, text)
        self.across(s, 5, "{pc}9", opening, first="LoanAmount")
        self.across(s, 6, "IF({c}$2<=LoanTerm,PMT(InterestRate/12,LoanTerm,-LoanAmount),0)",
                    payment)
        self.across(s, 7,
                    "IF({c}$2<=LoanTerm,IPMT(InterestRate/12,{c}$2,LoanTerm,-LoanAmount),0)",
                    interest)
        self.across(s, 8, "{c}6-{c}7", principal)
        self.across(s, 9, "{c}5-{c}8", closing)
        return {"interest": interest, "principal": principal}

    def valuation(self, inp: dict[str, float], ops: dict[str, list[float]],
                  debt: dict[str, list[float]]) -> None:
        s = "Valuation"
        m, last = self.m, self.last
        t = int(ops["totals_row"][0])
        dates = ops["dates"]
        self.put(s, 1, 1, "Valuation")
        self.label(s, 2, "Month")
        self.across(s, 2, "Operations!{c}$2", [float(mo) for mo in range(1, m + 1)], "0")
        self.label(s, 3, "Date")
        self.across(s, 3, "Operations!{c}$3", dates, _DATE)
        ebitda = self.across(s, 5, f"Operations!{{c}}{t + 4}", ops["ebitda"])
        interest = self.across(s, 6, "-Debt!{c}7", [-v for v in debt["interest"]])
        ebt = self.across(s, 7, "{c}5+{c}6",
                          [a + b for a, b in zip(ebitda, interest, strict=True)])
        tax = self.across(s, 8, "-MAX(0,{c}7*TaxRate)", [-max(0.0, v * inp["tax"]) for v in ebt])
        income = self.across(s, 9, "{c}7+{c}8", [a + b for a, b in zip(ebt, tax, strict=True)])
        repay = self.across(s, 10, "-Debt!{c}8", [-v for v in debt["principal"]])
        flows = self.across(s, 11, "{c}9+{c}10",
                            [a + b for a, b in zip(income, repay, strict=True)])
        factor = self.across(s, 12, "1/(1+DiscountRate)^({c}$2/12)",
                             [1 / (1 + inp["discount"]) ** (mo / 12) for mo in range(1, m + 1)],
                             "0.0000")
        pv = self.across(s, 13, "{c}11*{c}12", [a * b for a, b in zip(flows, factor, strict=True)])
        equity = float(round(0.4 * sum(flows), -3))
        self.put("Inputs", 12, 2, equity, number_format=_MONEY)
        equity_flows = [-equity + flows[0], *flows[1:]]
        self.across(s, 14, "{c}11", equity_flows, first="-Inputs!$B$12+C11")
        for k, text in enumerate(("Net income", "Debt repayment", "Cash flow", "Discount factor",
                                  "Present value", "Equity cash flow"), start=9):
            self.label(s, k, text)
        for k, text in enumerate(("EBITDA", "Interest", "Profit before tax", "Tax"), start=5):
            self.label(s, k, text)

        revenue = ops["revenue"]
        target = int(inp["target"])
        summary: list[tuple[str, str, CellValue, str]] = [
            ("NPV", "NPV(DiscountRate/12,CashFlows)", _npv(inp["discount"] / 12, flows), _MONEY),
            ("Sum of present values", f"SUM(C13:{last}13)", sum(pv), _MONEY),
            ("Equity IRR (monthly)", f"IRR(C14:{last}14,0.01)", _irr(equity_flows, 0.01), "0.00%"),
            ("XNPV", f"XNPV(DiscountRate,C11:{last}11,C3:{last}3)",
             _xnpv(inp["discount"], flows, dates), _MONEY),
            ("Revenue in target month",
             f"INDEX(Operations!C{t}:{last}{t},MATCH(TargetMonth,Operations!C2:{last}2,0))",
             revenue[target - 1], _MONEY),
            ("Peak EBITDA month", f"MATCH(MAX(C5:{last}5),C5:{last}5,0)",
             float(ebitda.index(max(ebitda)) + 1), "0"),
            ("Total tax", f"SUM(C8:{last}8)", sum(tax), _MONEY),
            ("Lowest cash flow", f"MIN(C11:{last}11)", min(flows), _MONEY),
            ("Average EBITDA margin", f"AVERAGE(Operations!C{t + 6}:{last}{t + 6})",
             sum(ops["margin"]) / m, _PERCENT),
        ]
        for k, (text, formula, value, fmt) in enumerate(summary):
            self.put(s, 16 + k, 1, text)
            self.put(s, 16 + k, 2, value, formula, fmt)
