"""Syntax tree -> Python: each formula shape becomes two small Python functions.

For a shape (the R1C1 form of a formula, shared by all its copies) we
generate source like::

    def value(k):                       # k: the formula cell's key
        return _top(_add(_g(k - 32768), _g(1100585369601)), k)

    def deps(k):
        return (k - 32768, 1100585369601), ()

and ``exec`` it once. ``value`` computes the cell; ``deps`` lists the cells and
ranges it reads, for the dependency graph. References relative to the cell
are the cell's key plus a constant, so evaluating a copy costs no parsing.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from calcwire.values import ERROR_CODES, XlError
from eval_svc.engine.ast import (
    Area,
    ArrayLit,
    Binary,
    Bool,
    Call,
    CellRef,
    Err,
    Invoke,
    Missing,
    Node,
    Num,
    Param,
    Str,
    Unary,
    Unsupported,
)
from eval_svc.engine.functions import FUNCTIONS
from eval_svc.engine.runtime import COL_MASK, ROW_MASK, ROW_SHIFT, SHEET_SHIFT, Array

__all__ = ["CompiledShape", "ShapeCompiler"]

_BIN_NAMES: Final = {
    "+": "add",
    "-": "sub",
    "*": "mul",
    "/": "div",
    "^": "pow",
    "&": "concat",
    "=": "eq",
    "<>": "ne",
    "<": "lt",
    "<=": "le",
    ">": "gt",
    ">=": "ge",
}
_UN_NAMES: Final = {"-": "neg", "+": "pos", "%": "pct"}
_ROWPART_MASK: Final = ROW_MASK << ROW_SHIFT

# Functions compiled inline (lazy arguments, parameters, the formula's own cell).
_SPECIAL: Final = frozenset(
    {
        "IF",
        "IFERROR",
        "IFNA",
        "CHOOSE",
        "IFS",
        "SWITCH",
        "LET",
        "LAMBDA",
        "SINGLE",
        "ISOMITTED",
        "ROW",
        "COLUMN",
        "_ETA",
    }
)
# Calls that can evaluate to a reference (kept as Refs where a reference is wanted).
_REF_FUNCTIONS: Final = frozenset(
    {
        "OFFSET",
        "INDIRECT",
        "INDEX",
        "CHOOSE",
        "IF",
        "IFS",
        "SWITCH",
        "XLOOKUP",
        "ANCHORARRAY",
        "LET",
        "TRIMRANGE",
    }
)


def is_special(name: str) -> bool:
    return name in _SPECIAL


@dataclass(slots=True)
class CompiledShape:
    """The compiled functions of one formula template, or why it cannot be computed.

    ``value(k, p)`` computes the cell with key ``k`` whose reference slots
    hold the keys ``p``; ``deps(k)`` lists what the template reads besides
    its slots (references inside defined names), or is None. ``param_sheets``
    gives each slot's sheet; ``cell_slots`` are slots read as single cells and
    ``area_slots`` the first slot of each area (its corners are two slots).
    """

    value: Callable[[int, tuple[int, ...]], Any] | None
    deps: Callable[[int], tuple[tuple[int, ...], tuple[tuple[int, int, int, int, int], ...]]] | None
    volatile: bool
    dynamic: bool
    unsupported: str | None
    source: str
    param_sheets: tuple[int, ...] = ()
    cell_slots: tuple[int, ...] = ()
    area_slots: tuple[int, ...] = ()
    #: What the template reads besides its slots when that does not depend on the cell
    #: (absolute references inside defined names); ``deps`` is then None.
    const_cells: tuple[int, ...] = ()
    const_ranges: tuple[tuple[int, int, int, int, int], ...] = ()


class _Unsupported(Exception):
    pass


class _Gen:
    """Generates the Python expression of one formula."""

    def __init__(self, env: dict[str, Any], sheet: int, array_mode: bool, nparams: int = 0) -> None:
        self.env = env
        self.sheet = sheet
        self.param_sheets: list[int] = [sheet] * nparams
        self.cell_slots: list[int] = []
        self.area_slots: list[int] = []
        self.base = "A" if array_mode else "V"
        self.cells: list[str] = []
        self.ranges: list[str] = []
        self.volatile = False
        self.dynamic = False
        self.temps = itertools.count()
        self.params: list[set[str]] = []
        self.uses_rc = False

    # -- helpers -----------------------------------------------------------

    def const(self, value: Any) -> str:
        """A name in the exec namespace bound to a constant object."""
        if type(value) is XlError:
            return f"_E{ERROR_CODES.index(value.code)}"
        name = f"_c{id(value)}"
        self.env[name] = value
        return name

    def temp(self) -> str:
        return f"_t{next(self.temps)}"

    def key_expr(self, ref: CellRef) -> str:
        s = self.sheet if ref.sheet is None else ref.sheet
        ds = (s - self.sheet) << SHEET_SHIFT
        if not ref.row_abs and not ref.col_abs:
            off = ds + (ref.row << ROW_SHIFT) + ref.col
            return f"k + {off}" if off >= 0 else f"k - {-off}"
        if ref.row_abs and ref.col_abs:
            return str((s << SHEET_SHIFT) | (ref.row << ROW_SHIFT) | ref.col)
        if ref.row_abs:
            base = (s << SHEET_SHIFT) | (ref.row << ROW_SHIFT)
            return f"{base + ref.col} + (k & {COL_MASK})"
        base = (s << SHEET_SHIFT) + (ref.row << ROW_SHIFT) + ref.col
        return f"{base} + (k & {_ROWPART_MASK})"

    def area_parts(self, a: Area) -> str:
        s = self.sheet if a.sheet is None else a.sheet
        parts = []
        for v, absolute, var in (
            (a.r1, a.r1_abs, "r"),
            (a.c1, a.c1_abs, "c"),
            (a.r2, a.r2_abs, "r"),
            (a.c2, a.c2_abs, "c"),
        ):
            if absolute:
                parts.append(str(v))
            else:
                self.uses_rc = True
                parts.append(f"{var} + {v}" if v >= 0 else f"{var} - {-v}")
        return f"{s}, " + ", ".join(parts)

    # -- expressions ---------------------------------------------------------

    def expr(self, node: Node, mode: str) -> str:
        """Python source for ``node``; mode V (scalar), A (array-capable) or R (keep references)."""
        t = type(node)
        if t is Num:
            return repr(node.value)  # type: ignore[union-attr]
        if t is Str:
            return repr(node.value)  # type: ignore[union-attr]
        if t is Bool:
            return "True" if node.value else "False"  # type: ignore[union-attr]
        if t is Err:
            return self.const(node.value)  # type: ignore[union-attr]
        if t is Missing:
            return "None"
        if t is ArrayLit:
            return self.const(Array([list(r) for r in node.rows]))  # type: ignore[union-attr]
        if t is CellRef:
            slot = node.slot  # type: ignore[union-attr]
            if slot >= 0:
                ke = f"p[{slot}]"
                self.param_sheets[slot] = self.sheet if node.sheet is None else node.sheet  # type: ignore[union-attr]
                self.cell_slots.append(slot)
            else:
                ke = self.key_expr(node)  # type: ignore[arg-type]
                self.cells.append(ke)
            if mode == "R":
                return f"_cref({ke})"
            return f"_g({ke})"
        if t is Area:
            slot = node.slot  # type: ignore[union-attr]
            if slot >= 0:
                sheet = self.sheet if node.sheet is None else node.sheet  # type: ignore[union-attr]
                self.param_sheets[slot] = self.param_sheets[slot + 1] = sheet
                self.area_slots.append(slot)
                return self.from_ref(f"_rngk(p[{slot}], p[{slot + 1}])", mode)
            parts = self.area_parts(node)  # type: ignore[arg-type]
            self.ranges.append(f"({parts})")
            ref = f"_rng({parts})"
            return self.from_ref(ref, mode)
        if t is Param:
            name = node.name  # type: ignore[union-attr]
            if not any(name in scope for scope in self.params):
                return self.const(XlError.NAME)
            return self.from_ref(f"p_{_ident(name)}", mode)
        if t is Unary:
            op = node.op  # type: ignore[union-attr]
            m = "A" if mode == "A" or self.base == "A" else "V"
            x = self.expr(node.operand, m)  # type: ignore[union-attr]
            suffix = "_a" if m == "A" else ""
            return f"_{_UN_NAMES[op]}{suffix}({x})"
        if t is Binary:
            return self.binary(node, mode)  # type: ignore[arg-type]
        if t is Call:
            return self.call(node, mode)  # type: ignore[arg-type]
        if t is Invoke:
            callee = self.expr(node.callee, "R")  # type: ignore[union-attr]
            args = ", ".join(self.expr(a, "R") for a in node.args)  # type: ignore[union-attr]
            return self.from_ref(f"_invoke({callee}, ({args}{',' if args else ''}))", mode)
        if t is Unsupported:
            raise _Unsupported(node.reason)  # type: ignore[union-attr]
        raise _Unsupported(f"cannot compile {node!r}")

    def from_ref(self, code: str, mode: str) -> str:
        """Convert a value that may be a reference or array to what ``mode`` wants."""
        if mode == "R":
            return code
        if mode == "A" or self.base == "A":
            return f"_asarr({code})"
        return f"_sc({code}, k)"

    def binary(self, node: Binary, mode: str) -> str:
        op = node.op
        if op in (":", " ", ","):
            left = self.expr(node.left, "R")
            right = self.expr(node.right, "R")
            fn = {":": "_range_op", " ": "_isect_op", ",": "_union_op"}[op]
            return self.from_ref(f"{fn}({left}, {right})", mode)
        m = "A" if mode == "A" or self.base == "A" else "V"
        left = self.expr(node.left, m)
        right = self.expr(node.right, m)
        suffix = "_a" if m == "A" else ""
        return f"_{_BIN_NAMES[op]}{suffix}({left}, {right})"

    def is_refish(self, node: Node) -> bool:
        t = type(node)
        if t is CellRef or t is Area or t is Param or t is Invoke:
            return True
        if t is Binary:
            return node.op in (":", " ", ",")  # type: ignore[union-attr]
        if t is Call:
            return node.name in _REF_FUNCTIONS  # type: ignore[union-attr]
        return False

    def arg(self, node: Node, kind: str) -> str:
        if kind == "v":
            return self.expr(node, "A" if self.base == "A" else "V")
        if kind == "r" or kind == "l" or kind == "s":
            return self.expr(node, "R") if self.is_refish(node) else self.expr(node, self.base)
        if kind == "a":
            return self.expr(node, "R") if self.is_refish(node) else self.expr(node, "A")
        raise ValueError(kind)

    # -- calls ----------------------------------------------------------------

    def call(self, node: Call, mode: str) -> str:
        name = node.name
        if name in _SPECIAL:
            return self.special(node, mode)
        spec = FUNCTIONS.get(name)
        if spec is None:
            from eval_svc.engine.functions.fallback import fallback_spec

            spec = fallback_spec(name)
            if spec is None:
                from eval_svc.engine.functions._excel_names import EXCEL_FUNCTIONS

                if name not in EXCEL_FUNCTIONS:
                    return self.const(XlError.NAME)  # Excel itself does not know it
                raise _Unsupported(f"unsupported function: {name}")
        n = len(node.args)
        if not spec.min_args <= n <= spec.max_args:
            return self.const(XlError.VALUE)
        if spec.volatile:
            self.volatile = True
        if spec.dynamic:
            self.dynamic = True
        fname = f"F_{_ident(name)}"
        self.env[fname] = spec.impl
        args = [self.arg(a, spec.kind(i)) for i, a in enumerate(node.args)]
        for i, a in enumerate(node.args):
            # An optional argument given as an empty cell is 0/FALSE, not "omitted".
            if (
                spec.min_args <= i < len(spec.kinds)
                and spec.kind(i) in "vs"
                and i not in spec.keep_empty
                and (type(a) is CellRef or type(a) is Missing)
            ):
                fill = "_fill_text" if i in spec.text_optional else "_fill"
                args[i] = f"{fill}({args[i]})"
        lead = ["_X", "k"] if spec.context else []
        if self.base == "A" and any(spec.kind(i) == "v" for i in range(n)):
            mask = tuple(spec.kind(i) == "v" for i in range(n))
            target = f"(lambda *_a: {fname}(_X, k, *_a))" if spec.context else fname
            code = f"_lift({target}, {mask!r}, {', '.join(args)})"
        else:
            code = f"{fname}({', '.join(lead + args)})"
        if spec.returns == "v" and mode != "R":
            return code
        return self.from_ref(code, mode)

    def special(self, node: Call, mode: str) -> str:
        name, args = node.name, node.args
        base = self.base
        branch_mode = mode if mode == "R" else ("A" if base == "A" else mode)
        if name == "IF":
            if not 1 <= len(args) <= 3:
                return self.const(XlError.VALUE)
            cond = self.expr(args[0], "A" if base == "A" else "V")
            yes = self.expr(args[1], branch_mode) if len(args) > 1 else "True"
            no = self.expr(args[2], branch_mode) if len(args) > 2 else "False"
            if base == "A":
                return f"_if_a({cond}, lambda: {yes}, lambda: {no})"
            t = self.temp()
            return f"({yes} if ({t} := _cond({cond})) is True else ({no} if {t} is False else {t}))"
        if name in ("IFERROR", "IFNA"):
            if len(args) != 2:
                return self.const(XlError.VALUE)
            scalar_mode = "A" if base == "A" else "V"
            value = self.expr(args[0], scalar_mode)
            alt = self.expr(args[1], scalar_mode)
            test = "_iserror_v" if name == "IFERROR" else "_isna_v"
            if base == "A":
                return f"_iferror_a({value}, lambda: {alt}, {test})"
            t = self.temp()
            return f"({alt} if {test}({t} := {value}, k) else {t})"
        if name == "CHOOSE":
            if len(args) < 2:
                return self.const(XlError.VALUE)
            index = self.expr(args[0], "A" if base == "A" else "V")
            options = ", ".join(f"lambda: {self.expr(a, branch_mode)}" for a in args[1:])
            return f"_choose({index}, ({options},))"
        if name == "IFS":
            if len(args) < 2 or len(args) % 2:
                return self.const(XlError.VALUE)
            parts = []
            for i in range(0, len(args), 2):
                c = self.expr(args[i], "A" if base == "A" else "V")
                v = self.expr(args[i + 1], branch_mode)
                parts.append(f"lambda: {c}, lambda: {v}")
            return f"_ifs(({', '.join(parts)},))"
        if name == "SWITCH":
            if len(args) < 3:
                return self.const(XlError.VALUE)
            value = self.expr(args[0], "A" if base == "A" else "V")
            # pairs (match, result), then an optional default
            parts = []
            rest = args[1:]
            for i, a in enumerate(rest):
                is_result = i % 2 == 1 or (i == len(rest) - 1 and len(rest) % 2 == 1)
                m = branch_mode if is_result else ("A" if base == "A" else "V")
                parts.append(f"lambda: {self.expr(a, m)}")
            return f"_switch({value}, ({', '.join(parts)},), {len(rest) % 2 == 1})"
        if name == "LET":
            if len(args) < 3 or len(args) % 2 == 0:
                return self.const(XlError.VALUE)
            names = []
            for a in args[:-1:2]:
                if type(a) is not Param:
                    return self.const(XlError.VALUE)
                names.append(a.name)
            code_parts = []
            scope: set[str] = set()
            self.params.append(scope)
            try:
                for pname, bound in zip(names, args[1:-1:2]):
                    code_parts.append((pname, self.arg(bound, "r")))
                    scope.add(pname)
                body = self.expr(args[-1], mode)
            finally:
                self.params.pop()
            code = body
            for pname, value_code in reversed(code_parts):
                code = f"(lambda p_{_ident(pname)}: {code})({value_code})"
            return code
        if name == "LAMBDA":
            if not args:
                return self.const(XlError.VALUE)
            names = []
            for a in args[:-1]:
                if type(a) is not Param:
                    return self.const(XlError.VALUE)
                names.append(a.name)
            self.params.append(set(names))
            saved_base = self.base
            self.base = "A"
            try:
                body = self.expr(args[-1], "R")
            finally:
                self.params.pop()
                self.base = saved_base
            params = ", ".join(f"p_{_ident(n)}=_OMIT" for n in names)
            return f"_Lambda(lambda {params}: {body}, {len(names)})"
        if name == "SINGLE":
            if len(args) != 1:
                return self.const(XlError.VALUE)
            return f"_ii({self.expr(args[0], 'R')}, k)"
        if name == "ISOMITTED":
            if len(args) != 1:
                return self.const(XlError.VALUE)
            if type(args[0]) is Param:
                return f"({self.expr(args[0], 'R')} is _OMIT)"
            return "False"
        if name == "_ETA":
            target = str(args[0].value)  # type: ignore[union-attr]
            spec = FUNCTIONS.get(target)
            if spec is None:
                from eval_svc.engine.functions.fallback import fallback_spec

                spec = fallback_spec(target)
            if spec is None:
                raise _Unsupported(f"unsupported function: {target}")
            fname = f"F_{_ident(target)}"
            self.env[fname] = spec.impl
            call = f"{fname}(_X, k, *_a)" if spec.context else f"{fname}(*_a)"
            return f"_Lambda(lambda *_a: {call}, {spec.max_args})"
        if name in ("ROW", "COLUMN"):
            if len(args) > 1:
                return self.const(XlError.VALUE)
            if not args or type(args[0]) is Missing:
                return "float((k >> 15) & 2097151)" if name == "ROW" else "float(k & 32767)"
            fname = f"F_{name}"
            self.env[fname] = FUNCTIONS[name].impl
            code = f"{fname}({self.arg(args[0], 'r')})"
            return code if mode == "R" else self.from_ref(code, mode)
        raise _Unsupported(f"unsupported function: {name}")


def _ident(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


class ShapeCompiler:
    """Compiles formula trees into Python functions sharing one namespace."""

    def __init__(self, env: dict[str, Any]) -> None:
        self.env = env

    def compile(self, node: Node, sheet: int, array_mode: bool, nparams: int = 0) -> CompiledShape:
        gen = _Gen(self.env, sheet, array_mode, nparams)
        try:
            body = gen.expr(node, "A" if array_mode else "V")
            if not array_mode and type(node) is Binary and node.op in ("+", "-"):
                # Excel rounds the noise off a sum or difference that ends the formula.
                fn = "_add_final" if node.op == "+" else "_sub_final"
                body = body.replace(f"_{_BIN_NAMES[node.op]}(", f"{fn}(", 1)
        except _Unsupported as exc:
            return CompiledShape(None, None, False, False, str(exc), "")
        except RecursionError:
            return CompiledShape(None, None, False, False, "formula too deeply nested", "")
        top = f"_topa({body})" if array_mode else f"_top({body}, k)"
        prologue = "    r = (k >> 15) & 2097151\n    c = k & 32767\n" if gen.uses_rc else ""
        cells = ", ".join(gen.cells)
        ranges = ", ".join(gen.ranges)
        source = f"def _value(k, p):\n{prologue}    return {top}\n"
        if gen.cells or gen.ranges:
            source += (
                f"def _deps(k):\n{prologue}"
                f"    return ({cells}{',' if gen.cells else ''}), ({ranges}{',' if gen.ranges else ''})\n"
            )
        scope: dict[str, Any] = {}
        try:
            exec(compile(source, "<formula>", "exec"), self.env, scope)  # noqa: S102
        except (SyntaxError, RecursionError, MemoryError) as exc:
            return CompiledShape(None, None, False, False, f"cannot compile formula: {exc}", source)
        deps = scope.get("_deps")
        const_cells: tuple[int, ...] = ()
        const_ranges: tuple[tuple[int, int, int, int, int], ...] = ()
        if deps is not None and not re.search(r"\b[krc]\b", cells + " " + ranges):
            const_cells, const_ranges = deps(0)
            deps = None
        return CompiledShape(
            scope["_value"],
            deps,
            gen.volatile,
            gen.dynamic,
            None,
            source,
            tuple(gen.param_sheets),
            tuple(gen.cell_slots),
            tuple(gen.area_slots),
            const_cells,
            const_ranges,
        )
