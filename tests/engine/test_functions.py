"""The function library, by family: Excel semantics that matter in models."""

from __future__ import annotations

import math
from typing import ClassVar

import pytest
from engine_helpers import calculate, evaluate

from calcwire.values import XlError

RANGE = {"A1": 1.0, "A2": "3", "A3": True, "A4": 4.0, "B1": "x", "B2": 2.0}


def approx(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def check(formula: str, expected: object, cells: dict[str, object] | None = None) -> None:
    value = evaluate(formula, cells)
    assert approx(value, expected), f"{formula}: {value!r} != {expected!r}"


class TestMath:
    @pytest.mark.parametrize(
        ("formula", "expected"),
        [
            ("SUM(A1:A4)", 5.0),  # text and logicals in ranges are ignored
            ('SUM("3",TRUE,1)', 5.0),  # but converted when given directly
            ("PRODUCT(A1:A4)", 4.0),
            ("SUMPRODUCT(A1:A4,A1:A4)", 17.0),
            ("ROUND(2.5,0)", 3.0),
            ("ROUND(-2.5,0)", -3.0),
            ("ROUND(2.675,2)", 2.68),
            ("ROUND(1234,-2)", 1200.0),
            ("ROUNDUP(1.21,1)", 1.3),
            ("ROUNDDOWN(-1.29,1)", -1.2),
            ("MOD(-3,2)", 1.0),
            ("MOD(3,-2)", -1.0),
            ("INT(-1.5)", -2.0),
            ("TRUNC(-1.5)", -1.0),
            ("CEILING(2.1,0.5)", 2.5),
            ("FLOOR(-2.5,-2)", -2.0),
            ("MROUND(10,3)", 9.0),
            ('SUMIF(A1:A4,">1")', 4.0),
            ('SUMIFS(C1:C3,D1:D3,"a*",C1:C3,">=2")', 2.0),
            ('COUNTIF(D1:D3,"A")', 1.0),
            ('COUNTIFS(D1:D3,"<>b")', 2.0),
            ('AVERAGEIF(D1:D3,"?",C1:C3)', 2.0),
            ("SUBTOTAL(9,C1:C3)", 6.0),
            ("GCD(12,18)", 6.0),
            ("LCM(4,6)", 12.0),
            ("ABS(-2)+SIGN(-3)+SQRT(16)", 5.0),
            ("SQRT(-1)", XlError.NUM),
        ],
    )
    def test_values(self, formula: str, expected: object) -> None:
        cells = dict(RANGE)
        cells.update({"C1": 1.0, "C2": 2.0, "C3": 3.0, "D1": "a", "D2": "ab", "D3": "b"})
        check(formula, expected, cells)

    def test_errors_in_ranges_propagate(self) -> None:
        check("SUM(A1:A2)", XlError.DIV0, {"A1": 1.0, "A2": "=1/0"})


class TestStatistics:
    @pytest.mark.parametrize(
        ("formula", "expected"),
        [
            ("AVERAGE(A1:A4)", 2.5),
            ("AVERAGEA(A1:A4)", 6 / 4),
            ("COUNT(A1:B2)", 2.0),
            ("COUNTA(A1:B2)", 4.0),
            ("COUNTBLANK(A1:B2)", 0.0),
            ("MAX(A1:B2)", 2.0),
            ("MIN(A1:B2)", 1.0),
            ("MEDIAN(1,2,3,4)", 2.5),
            ("STDEV(2,4,4,4,5,5,7,9)", 2.138089935299395),
            ("STDEVP(2,4,4,4,5,5,7,9)", 2.0),
            ("LARGE({3,1,2},1)", 3.0),
            ("SMALL({3,1,2},1)", 1.0),
            ("PERCENTILE({1,2,3,4},0.5)", 2.5),
            ("RANK(3,{1,3,2})", 1.0),
            ("AVERAGE(B1)", XlError.DIV0),
            ("SLOPE({1,2,3},{1,2,3})", 1.0),
        ],
    )
    def test_values(self, formula: str, expected: object) -> None:
        check(formula, expected, dict(RANGE))

    def test_linest_drops_a_constant_column(self) -> None:
        _, results = calculate(
            {
                "S": {
                    "A1": 1.0,
                    "A2": 3.0,
                    "A3": 8.0,
                    "B1": 5.0,
                    "B2": 5.0,
                    "B3": 5.0,
                    "C1": ("=LINEST(A1:A3,B1:B3)", "C1:D1"),
                }
            }
        )
        assert results["S!C1"].value == 0.0  # slope of a constant x


class TestLogical:
    @pytest.mark.parametrize(
        ("formula", "expected"),
        [
            ("IF(1,2,3)", 2.0),
            ('IF("TRUE",2,3)', 2.0),
            ('IF("x",2,3)', XlError.VALUE),
            ("IF(FALSE,2)", False),
            ("IF(TRUE,1/0,2)", XlError.DIV0),
            ("IF(FALSE,1/0,2)", 2.0),
            ("IFERROR(1/0,7)", 7.0),
            ("IFNA(NA(),7)", 7.0),
            ("IFNA(1/0,7)", XlError.DIV0),
            ('AND(TRUE,"x")', True),
            ("AND(A1:A4)", True),
            ("OR(FALSE,0)", False),
            ("XOR(TRUE,TRUE)", False),
            ("NOT(0)", True),
            ("IFS(FALSE,1,TRUE,2)", 2.0),
            ("IFS(FALSE,1)", XlError.NA),
            ('SWITCH(2,1,"a",2,"b","c")', "b"),
            ('SWITCH(9,1,"a","c")', "c"),
            ("CHOOSE(2,10,20,30)", 20.0),
            ("CHOOSE(4,10,20,30)", XlError.VALUE),
            ("LET(_xlpm.x,2,_xlpm.x*3)", 6.0),
            ("_xlfn.LAMBDA(_xlpm.x,_xlpm.x+1)(2)", 3.0),
        ],
    )
    def test_values(self, formula: str, expected: object) -> None:
        check(formula, expected, dict(RANGE))

    def test_if_is_lazy(self) -> None:
        # the untaken branch names an unknown function: Excel gives no error
        check("IF(TRUE,1,NOSUCHFUNCTION(2))", 1.0)


class TestLookup:
    TABLE: ClassVar[dict[str, object]] = {
        "A1": 1.0,
        "B1": "one",
        "A2": 2.0,
        "B2": "two",
        "A3": 5.0,
        "B3": "five",
        "D1": "k",
        "E1": 3.0,
        "D2": "K2",
        "E2": 4.0,
    }

    @pytest.mark.parametrize(
        ("formula", "expected"),
        [
            ("VLOOKUP(2,A1:B3,2,FALSE)", "two"),
            ("VLOOKUP(4,A1:B3,2)", "two"),
            ("VLOOKUP(4,A1:B3,2,FALSE)", XlError.NA),
            ("VLOOKUP(0,A1:B3,2)", XlError.NA),
            ("VLOOKUP(2,A1:B3,3,FALSE)", XlError.REF),
            ("VLOOKUP(2,A1:B3,2,Z1)", "two"),  # an empty cell is FALSE, not "omitted"
            ('HLOOKUP("K",D1:E2,2,FALSE)', "K2"),
            ("MATCH(5,A1:A3,0)", 3.0),
            ("MATCH(3,A1:A3)", 2.0),
            ('MATCH("t*",B1:B3,0)', 2.0),
            ("INDEX(A1:B3,3,2)", "five"),
            ("INDEX(A1:B3,0,1)", 1.0),  # a column, implicitly intersected in row 100: none
            ("SUM(INDEX(A1:B3,0,1))", 8.0),
            ("INDEX(A1:B3,4,1)", XlError.REF),
            ("LOOKUP(4,A1:A3,B1:B3)", "two"),
            ("XLOOKUP(5,A1:A3,B1:B3)", "five"),
            ('XLOOKUP(9,A1:A3,B1:B3,"none")', "none"),
            ("XLOOKUP(4,A1:A3,B1:B3,,-1)", "two"),
            ("XMATCH(4,A1:A3,1)", 3.0),
            ("SUM(OFFSET(A1,1,0,2,1))", 7.0),
            ('INDIRECT("A3")', 5.0),
            ('SUM(INDIRECT("A1:A3"))', 8.0),
            ('INDIRECT("R2C1",FALSE)', 2.0),
            ("ROW(A3)+COLUMN(B1)", 5.0),
            ("ROWS(A1:B3)*COLUMNS(A1:B3)", 6.0),
            ("ADDRESS(2,3)", "$C$2"),
            ("ADDRESS(2,3,4,FALSE)", "R[2]C[3]"),
        ],
    )
    def test_values(self, formula: str, expected: object) -> None:
        value = evaluate(formula, dict(self.TABLE))
        if formula == "INDEX(A1:B3,0,1)":
            assert value is XlError.VALUE
            return
        assert approx(value, expected), f"{formula}: {value!r}"


class TestText:
    @pytest.mark.parametrize(
        ("formula", "expected"),
        [
            ('LEFT("abc",2)&RIGHT("abc")&MID("abcd",2,2)', "abcbc"),
            ('LEN("héllo")', 5.0),
            ('FIND("b","abcb",3)', 4.0),
            ('FIND("B","abc")', XlError.VALUE),
            ('SEARCH("B?","abcb")', 2.0),
            ('SUBSTITUTE("aaa","a","b",2)', "aba"),
            ('REPLACE("abcdef",2,3,"X")', "aXef"),
            ('TRIM("  a   b ")', "a b"),
            ('PROPER("hello wORLD")', "Hello World"),
            ('CONCAT(A1:B1,"!")', "1x!"),
            ('TEXTJOIN("-",TRUE,A1:B1,"",3)', "1-x-3"),
            ('EXACT("a","A")', False),
            ('VALUE("1.5e1")', 15.0),
            ('TEXT(1234.567,"#,##0.00")', "1,234.57"),
            ('TEXT(0.256,"0.0%")', "25.6%"),
            ('TEXT(-5,"0;(0)")', "(5)"),
            ('TEXT(43845,"yyyy-mm-dd")', "2020-01-15"),
            ('TEXT(43845.75,"d mmm yy h:mm AM/PM")', "15 Jan 20 6:00 PM"),
            ('TEXT(1.5,"[h]:mm")', "36:00"),
            ('TEXT(12200000,"0.00E+00")', "1.22E+07"),
            ('TEXT("abc","@!")', "abc!"),
            ("FIXED(1234.567,1)", "1,234.6"),
            ('CHAR(65)&CODE("a")', "A97"),
            ('REPT("ab",3)', "ababab"),
        ],
    )
    def test_values(self, formula: str, expected: object) -> None:
        check(formula, expected, {"A1": 1.0, "B1": "x"})


class TestDates:
    @pytest.mark.parametrize(
        ("formula", "expected"),
        [
            ("DATE(1900,2,29)", 60.0),
            ("DATE(1900,3,1)", 61.0),
            ("DATE(2020,13,1)", 44197.0),
            ("DATE(2020,1,0)", 43830.0),
            ("YEAR(60)*10000+MONTH(60)*100+DAY(60)", 19000229.0),
            ("EOMONTH(DATE(2020,1,31),1)", 43890.0),
            ("EDATE(DATE(2020,1,31),1)", 43890.0),
            ('DATEDIF(DATE(2020,1,15),DATE(2021,3,10),"M")', 13.0),
            ("YEARFRAC(DATE(2020,1,1),DATE(2020,7,1))", 0.5),
            ("WEEKDAY(DATE(2024,1,1))", 2.0),
            ("WEEKDAY(DATE(2024,1,1),2)", 1.0),
            ("HOUR(0.75)+MINUTE(0.5+1/1440)", 19.0),
            ('DATEVALUE("15-Jan-2020")', 43845.0),
            ("NETWORKDAYS(DATE(2024,1,1),DATE(2024,1,7))", 5.0),
            ("WORKDAY(DATE(2024,1,5),1)", 45299.0),
            ("EDATE(A1:A2,1)", XlError.VALUE),  # Analysis ToolPak functions refuse ranges
        ],
    )
    def test_values(self, formula: str, expected: object) -> None:
        check(formula, expected, {"A1": 1.0, "A2": 2.0})

    def test_1904_date_system(self) -> None:
        _, results = calculate({"S": {"A1": "=DATE(1904,1,2)", "A2": "=YEAR(0)"}}, date1904=True)
        assert results["S!A1"].value == 1.0
        assert results["S!A2"].value == 1904.0


class TestFinancial:
    @pytest.mark.parametrize(
        ("formula", "expected"),
        [
            ("PMT(0.05/12,360,200000)", -1073.643246024284),
            ("IPMT(0.05/12,1,360,200000)", -833.3333333333334),
            ("PPMT(0.05/12,1,360,200000)", -240.30991269095065),
            ("FV(0.05,10,-100)", 1257.789253554883),
            ("PV(0.05,10,-100)", 772.1734929184818),
            ("NPER(0.05,-100,1000)", 14.206699082890463),
            ("RATE(10,-100,800)", 0.042774978035111474),  # numpy_financial.rate
            ("NPV(0.1,-100,60,60)", 3.756574004507897),
            ("IRR({-100,60,60})", 0.1306623862918075),
            ("XNPV(0.1,{-100,60,60},{43831,44197,44562})", 4.105043552896454),
            ("XIRR({-100,60,60},{43831,44197,44562})", 0.13040400403885938),  # scipy brentq
            ("SLN(1000,100,9)", 100.0),
            ("DDB(1000,100,5,1)", 400.0),
            ("VDB(1,0,14,0,0.5,1.25)", 0.044642857142857144),
            ("IRR({1,2})", XlError.NUM),
        ],
    )
    def test_values(self, formula: str, expected: object) -> None:
        check(formula, expected)


class TestInformation:
    @pytest.mark.parametrize(
        ("formula", "expected"),
        [
            ("ISBLANK(Z1)", True),
            ("ISBLANK(A1)", False),
            ("ISNUMBER(A1)", True),
            ("ISTEXT(B1)", True),
            ("ISERROR(1/0)", True),
            ("ISERR(NA())", False),
            ("ISNA(NA())", True),
            ("ISLOGICAL(TRUE)", True),
            ("ISREF(A1)", True),
            ("ISEVEN(4)", True),
            ("ISFORMULA(C1)", True),
            ("TYPE(B1)+TYPE(A1)", 3.0),
            ("N(TRUE)", 1.0),
            ("ERROR.TYPE(1/0)", 2.0),
            ('CELL("address",B1)', "$B$1"),
        ],
    )
    def test_values(self, formula: str, expected: object) -> None:
        check(formula, expected, {"A1": 1.0, "B1": "x", "C1": "=A1"})


class TestEngineering:
    @pytest.mark.parametrize(
        ("formula", "expected"),
        [
            ("DEC2BIN(5)", "101"),
            ("DEC2BIN(5,8)", "00000101"),
            ("DEC2BIN(-1)", "1111111111"),
            ("DEC2BIN(512)", XlError.NUM),
            ('HEX2DEC("FFFFFFFFFF")', -1.0),
            ('BIN2HEX("1010")', "A"),
            ('IMSUM("1+2i","3-i")', "4+i"),
            ('IMPRODUCT("1+i","1-i")', "2"),
            ("COMPLEX(0,-1)", "-i"),
            ('CONVERT(1,"m","ft")', 3.280839895013123),  # through the formulas fallback
        ],
    )
    def test_values(self, formula: str, expected: object) -> None:
        check(formula, expected)


class TestUnsupported:
    def test_unknown_names_are_name_errors(self) -> None:
        check("NOSUCHFUNCTION(1)", XlError.NAME)
        check("NoSuchName+1", XlError.NAME)

    def test_known_but_unsupported_is_not_computable(self) -> None:
        _, results = calculate({"S": {"A1": '=CUBEMEMBER("x","y")', "A2": "=A1+1", "A3": "=1"}})
        assert results["S!A1"].status == "not_computable"
        assert results["S!A1"].reason == "unsupported function: CUBEMEMBER"
        assert results["S!A2"].status == "not_computable"
        assert results["S!A2"].reason == "depends on not computable S!A1"
        assert results["S!A3"].status == "computed"
