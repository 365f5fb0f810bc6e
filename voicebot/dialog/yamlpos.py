"""YAML parsing that remembers where every value came from, so flow errors can say `file:line`.

Flows come from editors over the web, so the parser refuses documents that would be cheap to send and
expensive to use: a few hundred bytes of nested aliases ("billion laughs") expand to billions of
values in anything that walks them (the validator, pydantic, the diagram). The node graph is measured
as it would be expanded, in time linear in its size, and refused past `MAX_EXPANDED_NODES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml


@dataclass
class PositionedYaml:
    data: Any
    lines: dict[str, int] = field(default_factory=dict)  # dotted path -> 1-based line

    def line_of(self, path: str) -> int:
        """Line of `path`, or of its nearest ancestor that has one (a missing key points at its parent)."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path.rpartition(".")[0]
        return self.lines.get("", 1)


MAX_ALIASES = 200  # a flow reuses a prompt or a slot list a few times, not hundreds
MAX_EXPANDED_NODES = 50_000  # every value counted once per path that reaches it; real flows have < 5,000


class YamlSyntaxError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def load_positioned(text: str) -> PositionedYaml:
    """Parse one YAML document; raise YamlSyntaxError with the line of the problem."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_size(node)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlSyntaxError(line, f"YAML syntax: {exc.problem or exc}") from exc
    except RecursionError:  # the composer recurses per nesting level
        raise YamlSyntaxError(1, "YAML nested too deeply") from None
    finally:
        loader.dispose()
    out = PositionedYaml(data=data)
    if node is not None:
        _walk(node, "", out.lines)
    return out


def _check_size(root: yaml.Node) -> None:
    """Refuse alias bombs and self-referencing aliases before anything walks the document."""
    sizes: dict[int, int] = {}
    aliases = 0

    def size(node: yaml.Node) -> int:
        nonlocal aliases
        key = id(node)
        if key in sizes:
            if sizes[key] < 0:
                raise YamlSyntaxError(node.start_mark.line + 1, "YAML alias refers to itself")
            aliases += 1
            if aliases > MAX_ALIASES:
                raise YamlSyntaxError(node.start_mark.line + 1, f"YAML uses more than {MAX_ALIASES} aliases")
            return sizes[key]
        sizes[key] = -1
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        if total > MAX_EXPANDED_NODES:
            raise YamlSyntaxError(node.start_mark.line + 1, f"YAML expands to more than {MAX_EXPANDED_NODES} values "
                                  "(aliases of aliases?); write the values out or use fewer aliases")
        sizes[key] = total
        return total

    size(root)


def _walk(node: yaml.Node, path: str, lines: dict[str, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = f"{path}.{key.value}" if path else str(key.value)
            lines[child] = key.start_mark.line + 1
            _walk(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = f"{path}.{i}" if path else str(i)
            lines[child] = item.start_mark.line + 1
            _walk(item, child, lines)
