"""Hand-written tokenizer and parser of the graph text language (never ``eval``).

Grammar (``;`` or a newline ends a statement, ``#`` starts a comment)::

    statement := name (arrow name)*          # a bare name declares an isolated node
    arrow     := "->" | "<-" | "<->"
    name      := [letters digits _]+ | "quoted name"

>>> parse_graph_text("Z -> X -> Y; X <-> Y  # confounded")
(['Z', 'X', 'Y'], [('Z', 'X', 2), ('X', 'Y', 7)], [('X', 'Y', 15)])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..exceptions import GraphError

# syntax_error is internal (CausalGraph uses it to point at duplicate edges in the text)
__all__ = ["parse_graph_text", "format_name", "edge_statements"]

_ARROWS = ("<->", "->", "<-")


def _is_name_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def format_name(name: str) -> str:
    """Return ``name`` as it is written in the graph text language.

    Names made only of letters, digits and ``_`` are written as they are; any other name is
    put in double quotes, so that :func:`parse_graph_text` reads it back unchanged.

    Parameters
    ----------
    name : str
        A node name.

    Returns
    -------
    str
        ``name`` itself, or ``name`` in double quotes.

    Examples
    --------
    >>> format_name("age_group"), format_name("age group")
    ('age_group', '"age group"')
    >>> parse_graph_text(format_name("age group") + " -> Y")[0]
    ['age group', 'Y']
    """
    if name and all(_is_name_char(c) for c in name):
        return name
    return f'"{name}"'


def syntax_error(text: str, pos: int, message: str) -> GraphError:
    """Internal: a :class:`GraphError` pointing at character ``pos`` of ``text``.

    >>> print(syntax_error("X -> -> Y", 5, "arrow '->' needs a node name on its left"))
    graph syntax error at line 1, column 6: arrow '->' needs a node name on its left
        X -> -> Y
             ^
    """
    line_no = text.count("\n", 0, pos) + 1
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    line = text[start : end if end >= 0 else len(text)]
    col = pos - start + 1
    return GraphError(
        f"graph syntax error at line {line_no}, column {col}: {message}\n    {line}\n"
        f"    {' ' * (col - 1)}^"
    )


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    """Split ``text`` into (kind, value, position) tokens; kinds: name, arrow, sep."""
    tokens: list[tuple[str, str, int]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\f\v":
            i += 1
        elif c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c in ";\n":
            tokens.append(("sep", c, i))
            i += 1
        elif c in "<-=":
            arrow = next((a for a in _ARROWS if text.startswith(a, i)), None)
            if arrow is None:
                j = i
                while j < n and text[j] in "<>-=":
                    j += 1
                raise syntax_error(text, i, f"unknown arrow {text[i:j]!r}; use '->', '<-' or '<->'")
            tokens.append(("arrow", arrow, i))
            i += len(arrow)
        elif _is_name_char(c):
            j = i
            while j < n and _is_name_char(text[j]):
                j += 1
            tokens.append(("name", text[i:j], i))
            i = j
        elif c == '"':
            j = text.find('"', i + 1)
            newline = text.find("\n", i + 1)
            if j < 0 or (0 <= newline < j):
                raise syntax_error(text, i, "unterminated quoted node name; add the closing '\"'")
            if j == i + 1:
                raise syntax_error(text, i, "empty quoted node name")
            tokens.append(("name", text[i + 1 : j], i))
            i = j + 1
        else:
            raise syntax_error(
                text,
                i,
                f"unexpected character {c!r}; node names use letters, digits and '_' "
                "(quote other names, e.g. \"age group\"), edges use '->', '<-' or '<->', "
                "and statements end with ';' or a new line",
            )
    return tokens


def parse_graph_text(
    text: str,
) -> tuple[list[str], list[tuple[str, str, int]], list[tuple[str, str, int]]]:
    """Parse graph text into its nodes and edges, without checking the graph itself.

    This is the tokenizer and parser behind :class:`~deepcause.graph.CausalGraph`; it checks
    only the syntax (see the module docstring for the grammar). Self loops, duplicate edges
    and cycles are left for ``CausalGraph`` to reject.

    Parameters
    ----------
    text : str
        Statements such as ``"Z -> X -> Y; X <-> Y"``, separated by ``;`` or new lines, with
        ``#`` comments and ``"quoted names"`` for names with other characters.

    Returns
    -------
    nodes : list of str
        Node names in order of first appearance.
    directed : list of (str, str, int)
        ``(parent, child, position)`` for each ``->`` or ``<-``; ``position`` is the index of
        the arrow in ``text``, so callers can point at a faulty edge.
    bidirected : list of (str, str, int)
        ``(u, v, position)`` for each ``<->``, in the order written.

    Raises
    ------
    GraphError
        On a syntax error, with the line, the column and a caret under the offending text.

    Examples
    --------
    >>> nodes, directed, bidirected = parse_graph_text('Y <- "age group" -> X; X -> Y')
    >>> nodes
    ['Y', 'age group', 'X']
    >>> [(u, v) for u, v, _ in directed]
    [('age group', 'Y'), ('age group', 'X'), ('X', 'Y')]
    >>> parse_graph_text("X ->")
    Traceback (most recent call last):
    ...
    deepcause.exceptions.GraphError: graph syntax error at line 1, column 3: arrow '->' needs a node name on its right
        X ->
          ^
    """
    tokens = _tokenize(text)
    nodes: dict[str, None] = {}
    directed: list[tuple[str, str, int]] = []
    bidirected: list[tuple[str, str, int]] = []
    expect_name = True  # at the start of a statement or after an arrow
    prev: str | None = None
    pending: tuple[str, int] | None = None  # arrow waiting for its right-hand node
    for kind, value, pos in tokens:
        if kind == "name":
            if not expect_name:
                raise syntax_error(
                    text, pos, f"expected an arrow or ';' before node {value!r} (after {prev!r})"
                )
            nodes.setdefault(value, None)
            if pending is not None and prev is not None:
                arrow, apos = pending
                if arrow == "->":
                    directed.append((prev, value, apos))
                elif arrow == "<-":
                    directed.append((value, prev, apos))
                else:
                    bidirected.append((prev, value, apos))
            prev, pending, expect_name = value, None, False
        elif kind == "arrow":
            if expect_name:
                raise syntax_error(text, pos, f"arrow {value!r} needs a node name on its left")
            pending, expect_name = (value, pos), True
        else:  # separator
            if pending is not None:
                raise syntax_error(
                    text, pending[1], f"arrow {pending[0]!r} needs a node name on its right"
                )
            prev, expect_name = None, True
    if pending is not None:
        raise syntax_error(text, pending[1], f"arrow {pending[0]!r} needs a node name on its right")
    return list(nodes), directed, bidirected


def edge_statements(
    nodes: Sequence[str],
    directed: Iterable[tuple[str, str]],
    bidirected: Iterable[tuple[str, str]],
) -> list[str]:
    """The graph as statements of the text language (the inverse of :func:`parse_graph_text`).

    Parameters
    ----------
    nodes : sequence of str
        All node names; the order sorts the statements.
    directed : iterable of (str, str)
        Directed edges ``(parent, child)``.
    bidirected : iterable of (str, str)
        Bidirected edges, in either orientation.

    Returns
    -------
    list of str
        One statement per edge, ordered by the positions of their nodes in ``nodes``:
        directed edges first, then bidirected ones, then isolated nodes.

    Examples
    --------
    >>> edge_statements(["Z", "X", "Y", "W"], [("X", "Y"), ("Z", "X")], [("Y", "X")])
    ['Z -> X', 'X -> Y', 'X <-> Y', 'W']
    """
    idx = {n: i for i, n in enumerate(nodes)}
    directed, bidirected = list(directed), list(bidirected)
    dirs = sorted(directed, key=lambda e: (idx[e[0]], idx[e[1]]))
    bis = sorted(
        (tuple(sorted(e, key=idx.__getitem__)) for e in bidirected),
        key=lambda e: (idx[e[0]], idx[e[1]]),
    )
    out = [f"{format_name(u)} -> {format_name(v)}" for u, v in dirs]
    out += [f"{format_name(u)} <-> {format_name(v)}" for u, v in bis]
    linked = {n for e in directed + bidirected for n in e}
    out += [format_name(n) for n in nodes if n not in linked]
    return out
