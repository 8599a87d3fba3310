"""docs/python.md from the Python sources: every public name of ``dendrite_rs.http`` and
``dendrite_rs`` (their ``__all__``), each class with its public methods and properties, each with
its signature as the source (or ``_native.pyi``) declares it and the first line of its docstring.

Read with ``ast`` only (nothing is imported: no torch, no bittensor needed), so the page is the
same in every environment. ``--check FILE`` fails (exit 1, a diff on stderr) when FILE is not
what this script writes: the page cannot drift from the code.

    python3 xtask/py/python_api.py > docs/python.md
    python3 xtask/py/python_api.py --check docs/python.md
"""

from __future__ import annotations

import ast
import difflib
import pathlib
import sys
from typing import Dict, List, Optional, Union

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "dendrite-py" / "python" / "dendrite_rs"
MODULES = [("dendrite_rs.http", "http.py"), ("dendrite_rs", "__init__.py")]

Definition = Union[ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef]


def parsed() -> Dict[str, ast.Module]:
    """Every source of the package and the native module's stub, by file name."""
    files = sorted(PACKAGE.glob("*.py")) + [PACKAGE / "_native.pyi"]
    return {f.name: ast.parse(f.read_text(encoding="utf-8")) for f in files}


def exported(module: ast.Module) -> List[str]:
    """The module's ``__all__``."""
    for node in module.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return [ast.literal_eval(e) for e in node.value.elts]  # type: ignore[attr-defined]
    return []


def is_overload(node: ast.AST) -> bool:
    decorators = getattr(node, "decorator_list", [])
    return any(ast.unparse(d).endswith("overload") for d in decorators)


def imported_from(module: ast.Module, name: str) -> Optional[str]:
    """The package file ``name`` is imported from (``from .x import name``, also under
    ``TYPE_CHECKING``), if it is."""
    for node in ast.walk(module):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            if any((alias.asname or alias.name) == name for alias in node.names):
                return "_native.pyi" if node.module == "_native" else f"{node.module}.py"
    return None


def definition(name: str, sources: Dict[str, ast.Module], file: str) -> Optional[Definition]:
    """Where ``name`` of module ``file`` is defined: in ``file`` itself, or in the file it is
    imported from (the implementation, not an ``@overload`` stub); ``None`` for a value."""
    seen = set()
    while file not in seen and file in sources:
        seen.add(file)
        for node in sources[file].body:
            kinds = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
            if isinstance(node, kinds) and node.name == name and not is_overload(node):
                return node
        origin = imported_from(sources[file], name)
        if origin is None:
            return None
        file = origin
    return None


def value_comment(name: str, file: str) -> str:
    """The ``#:`` comment above ``name``'s assignment at the top of ``file``."""
    lines = (PACKAGE / file).read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith(f"{name} =") or line.startswith(f"{name}: "):
            comment = []
            j = i - 1
            while j >= 0 and lines[j].startswith("#:"):
                comment.insert(0, lines[j][2:].strip())
                j -= 1
            return " ".join(comment)
    return ""


def summary(node: ast.AST) -> str:
    doc = ast.get_docstring(node) or ""  # type: ignore[arg-type]
    first = doc.strip().split("\n\n")[0].replace("\n", " ")
    return " ".join(first.split())


def signature(node: Union[ast.FunctionDef, ast.AsyncFunctionDef], drop_self: bool) -> str:
    """``name(arguments) -> returns``, ``async`` first for a coroutine function."""
    args = node.args
    if drop_self and args.posonlyargs:
        args = ast.arguments(**{**args.__dict__, "posonlyargs": args.posonlyargs[1:]})
    elif drop_self and args.args and args.args[0].arg in ("self", "cls"):
        args = ast.arguments(**{**args.__dict__, "args": args.args[1:]})
    text = f"{node.name}({ast.unparse(args)})"
    if node.returns is not None:
        text += f" -> {ast.unparse(node.returns)}"
    prefix = "async " if isinstance(node, ast.AsyncFunctionDef) else ""
    return prefix + text


PUBLIC_DUNDERS = ("__init__", "__call__", "__aiter__", "__aenter__", "__enter__")


def members(cls: ast.ClassDef) -> List[str]:
    lines = []
    seen = set()
    for node in cls.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if not node.target.id.startswith("_"):
                lines.append(f"- field `{node.target.id}: {ast.unparse(node.annotation)}`")
            continue
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or is_overload(node):
            continue
        if node.name.startswith("_") and node.name not in PUBLIC_DUNDERS:
            continue
        if node.name in seen:
            continue
        seen.add(node.name)
        decorators = [ast.unparse(d) for d in node.decorator_list]
        if not summary(node) and node.name not in PUBLIC_DUNDERS:
            UNDOCUMENTED.append(f"{cls.name}.{node.name}")
        if "property" in decorators:
            returns = f": {ast.unparse(node.returns)}" if node.returns is not None else ""
            line = f"- property `{node.name}{returns}`"
            lines.append(f"{line} — {summary(node)}" if summary(node) else line)
        else:
            kind = "static " if "staticmethod" in decorators else ""
            line = f"- {kind}`{signature(node, True)}`"
            lines.append(f"{line} — {summary(node)}" if summary(node) else line)
    return lines


#: Methods and properties without a line of purpose (dunders are the class's).
UNDOCUMENTED: List[str] = []


def page() -> str:
    sources = parsed()
    out = [
        "# The Python face: `dendrite_rs.http` and `dendrite_rs`",
        "",
        "Every public class and function of the two modules, with its signature and what it is for.",
        "Written by `python3 xtask/py/python_api.py` from the sources and `_native.pyi`; `cargo xtask",
        "test` fails when this page is not what the code says. Guides: the README.",
        "",
    ]
    for module, file in MODULES:
        out += [f"## `{module}`", ""]
        for name in exported(sources[file]):
            node = definition(name, sources, file)
            if node is not None and not summary(node):
                UNDOCUMENTED.append(f"{module}.{name}")
            if isinstance(node, ast.ClassDef):
                out.append(f"### class `{name}`")
                out += ["", summary(node) or "(no docstring)", ""]
                out += members(node)
                out.append("")
            elif node is not None:
                out += [f"### `{signature(node, False)}`", "", summary(node) or "(no docstring)", ""]
            else:
                origin = imported_from(sources[file], name) or file
                text = value_comment(name, origin) if origin.endswith(".py") else ""
                out += [f"### `{name}`", "", text or "A value (not a class or function).", ""]
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    text = page()
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        if UNDOCUMENTED:
            sys.stderr.write("public names without a docstring: " + ", ".join(UNDOCUMENTED) + "\n")
            return 1
        path = pathlib.Path(sys.argv[2])
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            diff = difflib.unified_diff(current.splitlines(), text.splitlines(), str(path), "the code", lineterm="")
            sys.stderr.write("\n".join(diff) + f"\n{path} is stale: python3 xtask/py/python_api.py > {path}\n")
            return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
