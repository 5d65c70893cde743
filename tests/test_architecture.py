"""The dependency rules of docs/architecture.md, checked on every import in the source tree.

Every `import` and `from ... import` counts, at module level or inside a function (lazy imports are
still dependencies), and so do module names written as strings ("pkg.mod:func" targets, `-m pkg.mod`),
which is how a lazy dispatcher or a subprocess reaches a module.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# (the importing modules, the modules they must never reach, why)
RULES = [
    ("inference", ("torch", "export", "extension_api"), "the runtime and the core never need torch, training code or the extension"),
    ("inference.text", ("inference.runtime", "inference.server", "inference.evaluation"), "text processing is the bottom layer"),
    ("inference.runtime", ("inference.server", "inference.evaluation"), "the runtime never uses the HTTP server or the benchmarks"),
    ("inference.server", ("inference.evaluation",), "the server never uses the research tools"),
    ("inference.limits", ("inference",), "the limits module imports nothing of the project"),
    ("inference.errors", ("inference",), "the error base imports nothing of the project"),
    ("extension_api", ("export", "bots", "torch"), "the extension talks to the core through its app and HTTP contract"),
    ("bots", ("inference", "extension_api", "export", "torch"), "the bots talk to the core over HTTP only"),
]
_MODULE_STRING = re.compile(r"^(?:-m\s+)?([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+)(?::\w+)?$")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def references(source: str, module: str) -> set[str]:
    """Every module `source` (the text of `module`) imports or names in a string."""
    found: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the package
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = _MODULE_STRING.match(node.value.strip())
            if match:
                found.add(match.group(1))
    return found


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def violations(module: str, refs: set[str]) -> list[str]:
    out = []
    for source_package, forbidden, why in RULES:
        if not within(module, source_package):
            continue
        for ref in sorted(refs):
            if ref == module:
                continue
            if any(within(ref, f) for f in forbidden):
                out.append(f"{module} -> {ref} ({why})")
    return out


def source_modules():
    for top in ("inference", "extension_api", "bots"):
        for path in sorted((ROOT / top).rglob("*.py")):
            yield module_name(path), path


def test_no_module_breaks_a_dependency_rule():
    broken = []
    for module, path in source_modules():
        broken += violations(module, references(path.read_text(encoding="utf-8"), module))
    assert broken == [], "\n".join(broken)


# The circles this rule set was written against: each must be caught.
CIRCLES = {
    "a TYPE_CHECKING import of the extension in the core's appkeys": (
        "inference.server.appkeys", "if TYPE_CHECKING:\n    from extension_api.store import Store\n"),
    "the server mounting the extension by a string": (
        "inference.server.serve", 'DEFAULT_EXTENSIONS = ("extension_api.setup:setup",)\n'),
    "the runtime's image tagger importing the app for a benchmark": (
        "inference.runtime.image", "def bench():\n    from inference.server.app import create_app\n"),
    "the CLI reaching into training code": ("inference.cli", 'run = _runner("export.train:cli")\n'),
    "a benchmark spawning an export module": (
        "inference.evaluation.bench_serve", 'cmd = [sys.executable, "-m", "export.bench_runtime"]\n'),
    "a bot formatting tags with the runtime's segmenter": ("bots.formatting", "from inference.text.segment import format_tag\n"),
    "the text layer using the runtime": ("inference.text.preprocess", "from inference.runtime.ranking import rank\n"),
}


@pytest.mark.parametrize("name", sorted(CIRCLES))
def test_each_known_circle_would_be_caught(name):
    module, source = CIRCLES[name]
    assert violations(module, references(source, module)), name
