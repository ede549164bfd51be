"""Translate the common subset of Zeebe/FEEL expressions (``= price >= 0``) into CEL.

BPMN files modelled for Camunda 8 carry FEEL conditions and mappings. The engine evaluates only
CEL, so BPMN import translates them once. Supported: literals (numbers, "strings", true, false,
null, lists, contexts), variables and member access ``a.b``, ``=`` (equality) ``!=`` ``<``
``<=`` ``>`` ``>=``, ``+ - * /``, unary minus, ``and`` / ``or`` / ``not(x)``, parentheses,
``if c then a else b``, ``x in [list]`` and a few built-ins (``string length``, ``upper case``,
``lower case``, ``contains``, ``starts with``, ``ends with``, ``count``, ``string``, ``abs``,
``floor``, ``ceiling``, ``min``, ``max``, ``sum``). Anything else — ``for``, ``some``,
``every``, ranges, filters, function definitions, ``between``, ``instance of`` — raises an
:class:`ExpressionSyntaxError` naming the construct, so nothing is silently mistranslated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workflow_engine.expressions.errors import ExpressionSyntaxError
from workflow_engine.expressions.source import FUNCTION_PREFIX

#: A variable or member path `a.b.c`: safe to select a member on without parentheses.
_NAME_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_OPERATORS = ("**", "..", "!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "(", ")", "[",
              "]", "{", "}", ",", ".", ":")  # fmt: skip
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "b": "\b",
            "f": "\f", "/": "/"}  # fmt: skip

#: FEEL keywords that start constructs this translator does not support.
_UNSUPPORTED_KEYWORDS = {
    "for": "'for' loops",
    "some": "'some' quantified expressions",
    "every": "'every' quantified expressions",
    "function": "function definitions",
    "between": "'between' comparisons",
    "instance": "'instance of' type tests",
    "satisfies": "quantified expressions ('satisfies')",
    "return": "'for ... return' loops",
}
_KEYWORDS = {"and", "or", "true", "false", "null", "if", "then", "else", "in", "not"}
#: Words that are CEL syntax and therefore cannot be variable names after translation.
_CEL_RESERVED = {"as", "break", "const", "continue", "else", "for", "function", "if", "import",
                 "let", "loop", "package", "namespace", "return", "var", "void", "while",
                 "in", "null", "true", "false"}  # fmt: skip

#: FEEL built-ins whose names contain the keyword "and" (never variables or conjunctions).
_AND_FUNCTIONS = (("date", "and", "time"), ("years", "and", "months", "duration"))

#: FEEL built-in → (CEL template, number of arguments or None for any).
_FUNCTIONS: dict[str, tuple[str, int | None]] = {
    "not": ("!({0})", 1),
    "string length": ("size({0})", 1),
    "count": ("size({0})", 1),
    "upper case": (FUNCTION_PREFIX + "upper({0})", 1),
    "lower case": (FUNCTION_PREFIX + "lower({0})", 1),
    "contains": ("({0}).contains({1})", 2),
    "starts with": ("({0}).startsWith({1})", 2),
    "ends with": ("({0}).endsWith({1})", 2),
    "string": ("string({0})", 1),
    "abs": (FUNCTION_PREFIX + "abs({0})", 1),
    "floor": (FUNCTION_PREFIX + "floor({0})", 1),
    "ceiling": (FUNCTION_PREFIX + "ceil({0})", 1),
    "min": (FUNCTION_PREFIX + "min({args})", None),
    "max": (FUNCTION_PREFIX + "max({args})", None),
    "sum": (FUNCTION_PREFIX + "sum({args})", None),
}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "number", "string", "name", "op", "end"
    text: str  # source text (for strings: the decoded value)
    column: int  # 1-based


class _Translator:
    """Tokenizer plus recursive-descent parser emitting CEL source."""

    def __init__(self, source: str, body: str, offset: int) -> None:
        self.source = source
        self.tokens = self._tokenize(body, offset)
        self.index = 0

    # -- errors ---------------------------------------------------------------------------

    def _fail(self, detail: str) -> ExpressionSyntaxError:
        return ExpressionSyntaxError(
            f"invalid FEEL expression {self.source.strip()!r}: {detail}", expression=self.source
        )

    def _unsupported(self, construct: str, column: int) -> ExpressionSyntaxError:
        return ExpressionSyntaxError(
            f"unsupported FEEL construct in {self.source.strip()!r}: {construct} "
            f"(column {column}) cannot be translated to CEL; write a ${{...}} CEL expression",
            expression=self.source,
        )

    # -- tokens ---------------------------------------------------------------------------

    def _tokenize(self, body: str, offset: int) -> list[_Token]:
        tokens: list[_Token] = []
        i = 0
        while i < len(body):
            char = body[i]
            column = offset + i + 1
            if char.isspace():
                i += 1
                continue
            if body.startswith("//", i) or body.startswith("/*", i):
                raise self._unsupported("comments", column)
            if char == '"':
                value, i = self._read_string(body, i, column)
                tokens.append(_Token("string", value, column))
                continue
            number = _NUMBER.match(body, i)
            if number and not (char == "." and body.startswith("..", i)):
                tokens.append(_Token("number", number.group(), column))
                i = number.end()
                continue
            name = _NAME.match(body, i)
            if name:
                tokens.append(_Token("name", name.group(), column))
                i = name.end()
                continue
            operator = next((op for op in _OPERATORS if body.startswith(op, i)), None)
            if operator is None:
                raise self._fail(f"unexpected character {char!r} at column {column}")
            tokens.append(_Token("op", operator, column))
            i += len(operator)
        tokens.append(_Token("end", "", offset + len(body) + 1))
        return tokens

    def _read_string(self, body: str, start: int, column: int) -> tuple[str, int]:
        chars: list[str] = []
        i = start + 1
        while i < len(body):
            char = body[i]
            if char == '"':
                return "".join(chars), i + 1
            if char == "\\":
                if i + 1 >= len(body):
                    break
                escape = body[i + 1]
                if escape == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
                    chars.append(chr(int(body[i + 2 : i + 6], 16)))
                    i += 6
                    continue
                if escape not in _ESCAPES:
                    raise self._fail(
                        f"unknown escape '\\{escape}' in the string at column {column}"
                    )
                chars.append(_ESCAPES[escape])
                i += 2
                continue
            chars.append(char)
            i += 1
        raise self._fail(f"unterminated string starting at column {column}")

    def _peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def _next(self) -> _Token:
        token = self._peek()
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def _is(self, kind: str, text: str | None = None, ahead: int = 0) -> bool:
        token = self._peek(ahead)
        return token.kind == kind and (text is None or token.text == text)

    def _expect_op(self, text: str) -> None:
        token = self._next()
        if token.kind != "op" or token.text != text:
            raise self._fail(f"expected '{text}' but found {self._describe(token)}")

    def _expect_name(self, text: str) -> None:
        token = self._next()
        if token.kind != "name" or token.text != text:
            raise self._fail(f"expected '{text}' but found {self._describe(token)}")

    def _unexpected(self, token: _Token) -> str:
        if token.kind == "end":
            return "unexpected end of the expression"
        return f"unexpected {self._describe(token)}"

    @staticmethod
    def _describe(token: _Token) -> str:
        if token.kind == "end":
            return "the end of the expression"
        shown = f'"{token.text}"' if token.kind == "string" else f"'{token.text}'"
        return f"{shown} at column {token.column}"

    # -- grammar --------------------------------------------------------------------------

    def translate(self) -> str:
        result = self._expression()
        token = self._peek()
        if token.kind != "end":
            self._reject_keyword(token)
            raise self._fail(self._unexpected(token))
        return result

    def _reject_keyword(self, token: _Token) -> None:
        if token.kind == "name" and token.text in _UNSUPPORTED_KEYWORDS:
            raise self._unsupported(_UNSUPPORTED_KEYWORDS[token.text], token.column)
        if token.kind == "op" and token.text == "..":
            raise self._unsupported("ranges ('..')", token.column)
        if token.kind == "op" and token.text == "**":
            raise self._unsupported("exponentiation ('**')", token.column)

    def _expression(self) -> str:
        token = self._peek()
        self._reject_keyword(token)
        if self._is("name", "if"):
            self._next()
            condition = self._expression()
            self._expect_name("then")
            when_true = self._expression()
            self._expect_name("else")
            when_false = self._expression()
            return f"({condition} ? {when_true} : {when_false})"
        return self._disjunction()

    def _disjunction(self) -> str:
        result = self._conjunction()
        while self._is("name", "or"):
            self._next()
            result = f"{result} || {self._conjunction()}"
        return result

    def _conjunction(self) -> str:
        result = self._comparison()
        while self._is("name", "and"):
            self._next()
            result = f"{result} && {self._comparison()}"
        return result

    def _comparison(self) -> str:
        left = self._additive()
        token = self._peek()
        if token.kind == "op" and token.text in {"=", "!=", "<", "<=", ">", ">="}:
            self._next()
            operator = "==" if token.text == "=" else token.text
            return f"{left} {operator} {self._additive()}"
        if self._is("name", "in"):
            self._next()
            return f"{left} in {self._in_target()}"
        self._reject_keyword(token)
        return left

    def _in_target(self) -> str:
        token = self._peek()
        if token.kind == "op" and token.text in {"(", "["}:
            # "x in (1, 2)" is a list of unary tests; "[1..5]" is a range.
            closing = ")" if token.text == "(" else "]"
            self._next()
            items = self._items(closing)
            return f"[{', '.join(items)}]"
        if token.kind == "op" and token.text in {"<", "<=", ">", ">="}:
            raise self._unsupported("unary tests after 'in'", token.column)
        return self._additive()

    def _items(self, closing: str) -> list[str]:
        items: list[str] = []
        while not self._is("op", closing):
            items.append(self._expression())
            if self._is("op", ".."):
                raise self._unsupported("ranges ('..')", self._peek().column)
            if not self._is("op", closing):
                self._expect_op(",")
        self._next()
        return items

    def _additive(self) -> str:
        result = self._multiplicative()
        while self._is("op", "+") or self._is("op", "-"):
            operator = self._next().text
            result = f"{result} {operator} {self._multiplicative()}"
        return result

    def _multiplicative(self) -> str:
        result = self._unary()
        while self._is("op", "*") or self._is("op", "/"):
            operator = self._next().text
            result = f"{result} {operator} {self._unary()}"
        if self._is("op", "**"):
            raise self._unsupported("exponentiation ('**')", self._peek().column)
        return result

    def _unary(self) -> str:
        if self._is("op", "-"):
            self._next()
            return f"-({self._unary()})"
        return self._postfix()

    def _postfix(self) -> str:
        result = self._primary()
        while True:
            if self._is("op", "."):
                self._next()
                token = self._next()
                if token.kind != "name":
                    raise self._fail(f"expected a name after '.' but found {self._describe(token)}")
                # CEL's lexer reads `0.A` as a broken float: select on anything but a plain
                # name path through parentheses, `(0).A` (still an error, but at evaluation).
                base = result if _NAME_PATH.fullmatch(result) else f"({result})"
                result = f"{base}.{token.text}"
            elif self._is("op", "["):
                raise self._unsupported("list filters and indexing ('[...]')", self._peek().column)
            else:
                return result

    def _primary(self) -> str:
        token = self._peek()
        self._reject_keyword(token)
        if token.kind == "number":
            self._next()
            return "0" + token.text if token.text.startswith(".") else token.text
        if token.kind == "string":
            self._next()
            return _cel_string(token.text)
        if token.kind == "op" and token.text == "(":
            self._next()
            inner = self._expression()
            self._expect_op(")")
            return f"({inner})"
        if token.kind == "op" and token.text == "[":
            self._next()
            return f"[{', '.join(self._items(']'))}]"
        if token.kind == "op" and token.text == "{":
            self._next()
            return self._context()
        if token.kind == "name":
            return self._name()
        raise self._fail(self._unexpected(token))

    def _context(self) -> str:
        entries: list[str] = []
        while not self._is("op", "}"):
            key = self._next()
            if key.kind not in {"name", "string"}:
                raise self._fail(f"expected a context key but found {self._describe(key)}")
            self._expect_op(":")
            entries.append(f"{_cel_string(key.text)}: {self._expression()}")
            if not self._is("op", "}"):
                self._expect_op(",")
        self._next()
        return "{" + ", ".join(entries) + "}"

    def _name(self) -> str:
        first = self._next()
        if first.text in {"true", "false", "null"}:
            return first.text
        for compound in _AND_FUNCTIONS:
            if (
                first.text == compound[0]
                and all(self._is("name", word, ahead=i) for i, word in enumerate(compound[1:]))
                and self._is("op", "(", ahead=len(compound) - 1)
            ):
                raise self._unsupported(f"the function '{' '.join(compound)}'", first.column)
        words = [first.text]
        while (
            self._is("name") and self._peek().text not in _KEYWORDS | _UNSUPPORTED_KEYWORDS.keys()
        ):
            words.append(self._next().text)
        name = " ".join(words)
        if self._is("op", "("):
            return self._call(name, first.column)
        if len(words) > 1:
            raise self._unsupported(f"names containing spaces ('{name}')", first.column)
        if name in _KEYWORDS or name in _CEL_RESERVED:
            raise self._fail(f"unexpected '{name}' at column {first.column}")
        return name

    def _call(self, name: str, column: int) -> str:
        if name not in _FUNCTIONS:
            raise self._unsupported(f"the function '{name}'", column)
        template, arity = _FUNCTIONS[name]
        self._next()  # "("
        if self._is("name") and self._is("op", ":", ahead=1):
            raise self._unsupported("named function arguments", self._peek().column)
        args = self._items(")")
        if arity is not None and len(args) != arity:
            plural = "" if arity == 1 else "s"
            raise self._fail(
                f"'{name}' takes {arity} argument{plural}, got {len(args)} (column {column})"
            )
        if arity is None and not args:
            raise self._fail(f"'{name}' needs at least one argument (column {column})")
        return template.format(*args, args=", ".join(args))


def _cel_string(value: str) -> str:
    """Return a single-quoted CEL string literal holding ``value``."""
    out = ["'"]
    for char in value:
        if char == "\\":
            out.append("\\\\")
        elif char == "'":
            out.append("\\'")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        elif 0xD800 <= ord(char) <= 0xDFFF:
            out.append("\\ufffd")  # a lone surrogate cannot be encoded; keep it visible
        else:
            out.append(char)
    out.append("'")
    return "".join(out)


def feel_to_cel(text: str) -> str:
    """Translate a Zeebe/FEEL expression into CEL source.

    Args:
        text: The FEEL text; the leading ``=`` Zeebe uses to mark expressions is optional
            (``"= price >= 0"`` and ``"price >= 0"`` are the same).

    Returns:
        CEL source (without ``${}``), e.g. ``"price >= 0"`` or ``"var2 == true"``.

    Raises:
        ExpressionSyntaxError: for invalid FEEL, or FEEL this translator does not support
            (the message names the construct).

    """
    if not isinstance(text, str):
        raise ExpressionSyntaxError(
            f"a FEEL expression must be a string, got {type(text).__name__}", expression=str(text)
        )
    body = text
    offset = 0
    stripped = body.lstrip()
    if stripped.startswith("="):
        offset = len(body) - len(stripped) + 1
        body = stripped[1:]
    if not body.strip():
        raise ExpressionSyntaxError(
            f"empty FEEL expression {text.strip()!r}: write an expression after '='",
            expression=text,
        )
    try:
        return _Translator(text, body, offset).translate()
    except RecursionError:
        raise ExpressionSyntaxError(
            f"FEEL expression {text.strip()[:40]!r}... is nested too deeply", expression=text
        ) from None
