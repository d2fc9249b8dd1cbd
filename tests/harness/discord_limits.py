"""What real Discord refuses, as pure functions: a request body in, Discord's answer out.

:class:`~.fake_discord.FakeDiscord` calls one ``check_*`` function per route and answers
with the :class:`Refusal` it returns, so a bot that sends something Discord would refuse
fails offline the way it would fail in production. Validation errors are Discord's
``400 {"code": 50035, "message": "Invalid Form Body", "errors": {...}}`` where ``errors``
is nested by JSON path (list indices as strings) and ends in
``{"_errors": [{"code": ..., "message": ...}]}``.

Where the limits come from (Discord developer documentation, docs.discord.com/developers):

- Message content 2000, ≤ 10 embeds: *Channel resource › Create Message* (JSON params).
- Embed title 256, description 4096, ≤ 25 fields, field name 256 / value 1024 (both
  required), footer text 2048, author name 256, 6000 in total over all embeds of one
  message: *Message resource › Embed Limits*.
- Empty message (no content, embeds, attachments, components, sticker or poll): JSON error
  code 50006 "Cannot send an empty message", *Topics › Opcodes and Status Codes*.
- Components: ≤ 5 action rows, an action row holds ≤ 5 buttons or one select menu,
  ``custom_id`` 1–100, button label ≤ 80, non-link buttons need ``custom_id`` and link
  buttons ``url``, select options ≤ 25 (label/value/description ≤ 100), placeholder ≤ 150:
  *Components › Reference* (Action Row, Button, String Select).
- Components V2 (message flag ``1 << 15``): ``content`` and ``embeds`` no longer work, ≤ 40
  components in total (nested ones count), ≤ 4000 characters of text display content over
  the message, and the flag cannot be removed once set: *Components › Reference*
  (introduction, Text Display). Discord documents these limits but not the error codes
  for them; the codes below are the ones Discord is seen to send
  (``MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2``) or descriptive stand-ins.
- Modals (callback type 9): title 1–45, ``custom_id`` 1–100, 1–5 top-level components;
  text input label ≤ 45, placeholder ≤ 100, value ≤ 4000, ``min_length`` 0–4000,
  ``max_length`` 1–4000: *Interactions › Receiving and Responding › Modal* and
  *Components › Reference › Text Input / Label*.
- Autocomplete (callback type 8): ≤ 25 choices, choice name 1–100, string value ≤ 100:
  *Interactions › Receiving and Responding › Autocomplete* and *Application Commands ›
  Application Command Option Choice Structure*.
- Application commands: name 1–32 matching ``^[-_'\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$``
  and lowercase for chat-input commands, description 1–100, ≤ 25 options, ≤ 25 choices
  with name 1–100, ≤ 100 chat-input commands per scope (JSON code 30032):
  *Interactions › Application Commands*.
- Interactions: the initial response must come within 3 s, else 10062 "Unknown
  interaction"; the token works for 15 min, then 50027 "Invalid Webhook Token"; a second
  response is 40060: *Interactions › Receiving and Responding* and the JSON error codes.
- Uploads: per-file limit ``attachment_size_limit`` (10 MiB for a server without boosts),
  413 with JSON code 40005 "Request entity too large": *Reference › Uploading Files*.

Lengths are ``len()`` of the Python string (code points): Discord documents "characters".
Fields not listed here are left alone: this module refuses only what the documentation
says Discord refuses, so a refusal offline is one the bot would also get in production.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ACK_WINDOW_SECONDS",
    "ALREADY_ACKNOWLEDGED",
    "EMPTY_MESSAGE",
    "FLAG_COMPONENTS_V2",
    "INVALID_FORM_BODY",
    "INVALID_WEBHOOK_TOKEN",
    "MAX_COMMANDS",
    "REQUEST_TOO_LARGE",
    "Refusal",
    "TOKEN_LIFETIME_SECONDS",
    "UNKNOWN_INTERACTION",
    "autocomplete_errors",
    "check_callback",
    "check_commands",
    "check_message_create",
    "check_message_edit",
    "commands_errors",
    "invalid_form_body",
    "message_errors",
    "modal_errors",
    "upload_refusal",
]

# ---------------------------------------------------------------- the numbers

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_MAX = 256
EMBED_TOTAL_MAX = 6000

ACTION_ROWS_MAX = 5
ROW_WIDTH = 5  # a button takes 1, a select menu the whole row
CUSTOM_ID_MIN, CUSTOM_ID_MAX = 1, 100
BUTTON_LABEL_MAX = 80
SELECT_OPTIONS_MIN, SELECT_OPTIONS_MAX = 1, 25
SELECT_OPTION_TEXT_MAX = 100
SELECT_PLACEHOLDER_MAX = 150
V2_COMPONENTS_MAX = 40
V2_TEXT_MAX = 4000

MODAL_TITLE_MIN, MODAL_TITLE_MAX = 1, 45
MODAL_COMPONENTS_MIN, MODAL_COMPONENTS_MAX = 1, 5
TEXT_INPUT_LABEL_MAX = 45
LABEL_DESCRIPTION_MAX = 100
TEXT_INPUT_PLACEHOLDER_MAX = 100
TEXT_INPUT_VALUE_MAX = 4000
TEXT_INPUT_LENGTH_MAX = 4000

CHOICES_MAX = 25
CHOICE_NAME_MIN, CHOICE_NAME_MAX = 1, 100
CHOICE_VALUE_MAX = 100

COMMAND_NAME_MIN, COMMAND_NAME_MAX = 1, 32
COMMAND_DESCRIPTION_MIN, COMMAND_DESCRIPTION_MAX = 1, 100
COMMAND_OPTIONS_MAX = 25
MAX_COMMANDS = 100

ACK_WINDOW_SECONDS = 3.0
TOKEN_LIFETIME_SECONDS = 15 * 60.0

FLAG_COMPONENTS_V2 = 1 << 15

# Discord's JSON error codes.
UNKNOWN_INTERACTION = 10062
MAX_COMMANDS_REACHED = 30032
REQUEST_TOO_LARGE = 40005
ALREADY_ACKNOWLEDGED = 40060
EMPTY_MESSAGE = 50006
INVALID_WEBHOOK_TOKEN = 50027
INVALID_FORM_BODY = 50035

# Component types (Discord's ComponentType).
ACTION_ROW, BUTTON, STRING_SELECT, TEXT_INPUT = 1, 2, 3, 4
SELECTS = frozenset({3, 5, 6, 7, 8})
SECTION, TEXT_DISPLAY, CONTAINER, LABEL = 9, 10, 17, 18
LINK_STYLE, PREMIUM_STYLE = 5, 6

Errors = dict[str, Any]
PathPart = str | int
Path = tuple[PathPart, ...]


@dataclass(frozen=True)
class Refusal:
    """Discord's answer to a request it refuses: the HTTP status and the JSON body."""

    status: int
    code: int
    message: str
    errors: Errors | None = None

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def invalid_form_body(errors: Errors) -> Refusal:
    return Refusal(400, INVALID_FORM_BODY, "Invalid Form Body", errors)


def upload_refusal(file_sizes: Iterable[int], limit: int) -> Refusal | None:
    """413 code 40005 when one uploaded file is larger than the per-file limit."""
    if any(size > limit for size in file_sizes):
        return Refusal(413, REQUEST_TOO_LARGE, "Request entity too large")
    return None


# ---------------------------------------------------------------- error collection


class _Collector:
    """Builds Discord's nested error object: ``{"a": {"0": {"b": {"_errors": [...]}}}}``."""

    def __init__(self) -> None:
        self.errors: Errors = {}

    def add(self, path: Path, code: str, message: str) -> None:
        node = self.errors
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def max_length(self, path: Path, text: Any, limit: int) -> None:
        if isinstance(text, str) and len(text) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def bad_length(self, path: Path, value: Any, low: int, high: int) -> None:
        """A string or list whose length must lie in [low, high] (missing counts as 0)."""
        size = len(value) if isinstance(value, (str, list)) else 0
        if not low <= size <= high:
            self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")

    def required_text(self, path: Path, text: Any, limit: int) -> None:
        # Discord trims whitespace, so a blank string is as missing as no string.
        if not isinstance(text, str) or not text.strip():
            self.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        else:
            self.max_length(path, text, limit)

    def number(self, path: Path, value: Any, low: int, high: int) -> None:
        if not isinstance(value, int):
            return
        if value < low:
            self.add(path, "NUMBER_TYPE_MIN", f"int value should be greater than or equal to {low}.")
        elif value > high:
            self.add(path, "NUMBER_TYPE_MAX", f"int value should be less than or equal to {high}.")

    def result(self) -> Errors | None:
        return self.errors or None


# ---------------------------------------------------------------- messages


def _embed_text_length(embed: Mapping[str, Any]) -> int:
    """The characters an embed counts towards the 6000 limit."""
    texts = [embed.get("title"), embed.get("description"), (embed.get("footer") or {}).get("text"),
             (embed.get("author") or {}).get("name")]
    for item in embed.get("fields") or []:
        texts += [item.get("name"), item.get("value")]
    return sum(len(t) for t in texts if isinstance(t, str))


def _embed(c: _Collector, path: Path, embed: Mapping[str, Any]) -> None:
    c.max_length(path + ("title",), embed.get("title"), EMBED_TITLE_MAX)
    c.max_length(path + ("description",), embed.get("description"), EMBED_DESCRIPTION_MAX)
    c.max_length(path + ("footer", "text"), (embed.get("footer") or {}).get("text"), EMBED_FOOTER_MAX)
    c.max_length(path + ("author", "name"), (embed.get("author") or {}).get("name"), EMBED_AUTHOR_MAX)
    fields = embed.get("fields") or []
    if len(fields) > EMBED_FIELDS_MAX:
        c.add(path + ("fields",), "BASE_TYPE_MAX_LENGTH", f"Must be {EMBED_FIELDS_MAX} or fewer in length.")
        return
    for index, item in enumerate(fields):
        c.required_text(path + ("fields", index, "name"), item.get("name"), EMBED_FIELD_NAME_MAX)
        c.required_text(path + ("fields", index, "value"), item.get("value"), EMBED_FIELD_VALUE_MAX)


def _embeds(c: _Collector, path: Path, embeds: Sequence[Mapping[str, Any]]) -> None:
    if len(embeds) > EMBEDS_MAX:
        c.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {EMBEDS_MAX} or fewer in length.")
        return
    if sum(_embed_text_length(e) for e in embeds) > EMBED_TOTAL_MAX:
        c.add(path, "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}")
    for index, embed in enumerate(embeds):
        _embed(c, path + (index,), embed)


def _children(component: Mapping[str, Any]) -> list[tuple[Path, Mapping[str, Any]]]:
    """Nested components with their path relative to the parent (rows, sections, containers, labels)."""
    found: list[tuple[Path, Mapping[str, Any]]] = []
    for index, child in enumerate(component.get("components") or []):
        found.append((("components", index), child))
    for key in ("accessory", "component"):
        if isinstance(component.get(key), Mapping):
            found.append(((key,), component[key]))
    return found


def _walk_one(component: Mapping[str, Any], path: Path) -> Iterable[tuple[Path, Mapping[str, Any]]]:
    """The component and every component nested in it, each with its full path."""
    yield path, component
    for relative, child in _children(component):
        yield from _walk_one(child, path + relative)


def _all_components(components: Sequence[Mapping[str, Any]], path: Path) -> list[tuple[Path, Mapping[str, Any]]]:
    found: list[tuple[Path, Mapping[str, Any]]] = []
    for index, component in enumerate(components):
        found.extend(_walk_one(component, path + (index,)))
    return found


def _custom_id(c: _Collector, path: Path, component: Mapping[str, Any]) -> None:
    c.bad_length(path + ("custom_id",), component.get("custom_id"), CUSTOM_ID_MIN, CUSTOM_ID_MAX)


def _action_row(c: _Collector, path: Path, row: Mapping[str, Any]) -> None:
    children = row.get("components") or []
    if not 1 <= len(children) <= ROW_WIDTH:
        c.bad_length(path + ("components",), children, 1, ROW_WIDTH)
        return
    width = 0
    for index, child in enumerate(children):
        width += ROW_WIDTH if child.get("type") in SELECTS else 1
        if width > ROW_WIDTH:  # a select menu next to anything else
            c.add(path + ("components", index), "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                  "The specified component exceeds the maximum width")


def _button(c: _Collector, path: Path, button: Mapping[str, Any]) -> None:
    style = button.get("style")
    if style == LINK_STYLE:
        if not button.get("url"):
            c.add(path + ("url",), "BASE_TYPE_REQUIRED", "This field is required")
    elif style != PREMIUM_STYLE:
        if not button.get("custom_id"):
            c.add(path + ("custom_id",), "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED", "A custom id is required")
        else:
            _custom_id(c, path, button)
    c.max_length(path + ("label",), button.get("label"), BUTTON_LABEL_MAX)


def _select(c: _Collector, path: Path, select: Mapping[str, Any]) -> None:
    _custom_id(c, path, select)
    c.max_length(path + ("placeholder",), select.get("placeholder"), SELECT_PLACEHOLDER_MAX)
    if select.get("type") != STRING_SELECT:
        return
    options = select.get("options") or []
    if not SELECT_OPTIONS_MIN <= len(options) <= SELECT_OPTIONS_MAX:
        c.bad_length(path + ("options",), options, SELECT_OPTIONS_MIN, SELECT_OPTIONS_MAX)
        return
    for index, option in enumerate(options):
        here = path + ("options", index)
        c.bad_length(here + ("label",), option.get("label"), 1, SELECT_OPTION_TEXT_MAX)
        c.bad_length(here + ("value",), option.get("value"), 1, SELECT_OPTION_TEXT_MAX)
        c.max_length(here + ("description",), option.get("description"), SELECT_OPTION_TEXT_MAX)


def _text_input(c: _Collector, path: Path, field: Mapping[str, Any], *, labelled: bool) -> None:
    _custom_id(c, path, field)
    if not labelled:  # inside a Label component the label lives on the Label
        c.bad_length(path + ("label",), field.get("label"), 1, TEXT_INPUT_LABEL_MAX)
    c.max_length(path + ("placeholder",), field.get("placeholder"), TEXT_INPUT_PLACEHOLDER_MAX)
    c.max_length(path + ("value",), field.get("value"), TEXT_INPUT_VALUE_MAX)
    c.number(path + ("min_length",), field.get("min_length"), 0, TEXT_INPUT_LENGTH_MAX)
    c.number(path + ("max_length",), field.get("max_length"), 1, TEXT_INPUT_LENGTH_MAX)


def _component(c: _Collector, path: Path, component: Mapping[str, Any], *, in_label: bool = False) -> None:
    kind = component.get("type")
    if kind == ACTION_ROW:
        _action_row(c, path, component)
    elif kind == BUTTON:
        _button(c, path, component)
    elif kind in SELECTS:
        _select(c, path, component)
    elif kind == TEXT_INPUT:
        _text_input(c, path, component, labelled=in_label)
    elif kind == LABEL:
        c.bad_length(path + ("label",), component.get("label"), 1, TEXT_INPUT_LABEL_MAX)
        c.max_length(path + ("description",), component.get("description"), LABEL_DESCRIPTION_MAX)


def _components(c: _Collector, path: Path, components: Sequence[Mapping[str, Any]]) -> None:
    for here, component in _all_components(components, path):
        _component(c, here, component, in_label=here[-1] == "component")


def _is_v2(flags: Any) -> bool:
    return isinstance(flags, int) and bool(flags & FLAG_COMPONENTS_V2)


def _v2_applies(body: Mapping[str, Any], current_flags: int) -> bool:
    # The flag cannot be removed, so a message that has it stays a V2 message.
    return _is_v2(body.get("flags")) or _is_v2(current_flags)


def _v2_rules(c: _Collector, path: Path, body: Mapping[str, Any], current_flags: int) -> None:
    """Components V2: no legacy fields, 40 components, 4000 characters of text, flag for good."""
    flags = body.get("flags")
    if _is_v2(current_flags) and flags is not None and not _is_v2(flags):
        c.add(path + ("flags",), "MESSAGE_CANNOT_REMOVE_COMPONENTS_V2_FLAG",
              "The IS_COMPONENTS_V2 flag cannot be removed from a message")
    if not _v2_applies(body, current_flags):
        return
    for key in ("content", "embeds"):
        if body.get(key):  # null or empty clears the field, which is allowed
            c.add(path + (key,), "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                  f"The '{key}' field cannot be used when using MessageFlags.IS_COMPONENTS_V2")
    every = _all_components(body.get("components") or [], path + ("components",))
    if len(every) > V2_COMPONENTS_MAX:
        c.add(path + ("components",), "MESSAGE_COMPONENTS_V2_TOO_MANY_COMPONENTS",
              f"Must be {V2_COMPONENTS_MAX} or fewer components in total.")
    text = sum(len(x.get("content") or "") for _p, x in every if x.get("type") == TEXT_DISPLAY)
    if text > V2_TEXT_MAX:
        c.add(path + ("components",), "MESSAGE_COMPONENTS_V2_TEXT_TOO_LONG",
              f"Text display content must be {V2_TEXT_MAX} or fewer in length in total.")


def message_errors(body: Mapping[str, Any], *, path: Path = (), current_flags: int = 0) -> Errors | None:
    """The form errors of a message body (create or edit); ``path`` is ``("data",)`` for callbacks.

    ``current_flags`` are the flags of the message being edited (0 for a new message),
    which decide whether Components V2 rules apply and whether the flag is being removed.
    """
    c = _Collector()
    c.max_length(path + ("content",), body.get("content"), CONTENT_MAX)
    _embeds(c, path + ("embeds",), body.get("embeds") or [])
    components = body.get("components") or []
    if not _v2_applies(body, current_flags) and len(components) > ACTION_ROWS_MAX:
        c.add(path + ("components",), "BASE_TYPE_MAX_LENGTH", f"Must be {ACTION_ROWS_MAX} or fewer in length.")
    else:
        _components(c, path + ("components",), components)
    _v2_rules(c, path, body, current_flags)
    return c.result()


def _merged(body: Mapping[str, Any], current: Mapping[str, Any] | None) -> dict[str, Any]:
    """The message as it will be after an edit: fields the body leaves out keep their value."""
    state = dict(current or {})
    state.update({k: v for k, v in body.items() if k in ("content", "embeds", "components", "attachments",
                                                         "sticker_ids", "poll")})
    return state


def _is_empty(state: Mapping[str, Any], uploads: int) -> bool:
    content = state.get("content")
    return not (
        (isinstance(content, str) and content.strip())
        or state.get("embeds")
        or state.get("components")
        or state.get("attachments")
        or state.get("sticker_ids")
        or state.get("poll")
        or uploads
    )


def _empty_message() -> Refusal:
    return Refusal(400, EMPTY_MESSAGE, "Cannot send an empty message")


def check_message_create(body: Mapping[str, Any] | None, file_sizes: Sequence[int], *, size_limit: int,
                         path: Path = ()) -> Refusal | None:
    """POST /channels/{id}/messages, a followup, or callback type 4's ``data``."""
    body = body or {}
    errors = message_errors(body, path=path)
    refusal = upload_refusal(file_sizes, size_limit) or (invalid_form_body(errors) if errors else None)
    if refusal is None and _is_empty(body, len(file_sizes)):
        refusal = _empty_message()
    return refusal


def check_message_edit(body: Mapping[str, Any] | None, file_sizes: Sequence[int], current: Mapping[str, Any] | None,
                       *, size_limit: int, path: Path = ()) -> Refusal | None:
    """PATCH of a channel or webhook message, or callback type 7's ``data``, against the stored message."""
    body = body or {}
    errors = message_errors(body, path=path, current_flags=int((current or {}).get("flags") or 0))
    refusal = upload_refusal(file_sizes, size_limit) or (invalid_form_body(errors) if errors else None)
    if refusal is None and current is not None and _is_empty(_merged(body, current), len(file_sizes)):
        refusal = _empty_message()
    return refusal


# ---------------------------------------------------------------- interactions


def modal_errors(data: Mapping[str, Any], *, path: Path = ("data",)) -> Errors | None:
    """A modal (callback type 9): title, custom_id, 1–5 components, text input limits."""
    c = _Collector()
    c.bad_length(path + ("title",), data.get("title"), MODAL_TITLE_MIN, MODAL_TITLE_MAX)
    c.bad_length(path + ("custom_id",), data.get("custom_id"), CUSTOM_ID_MIN, CUSTOM_ID_MAX)
    components = data.get("components") or []
    if not MODAL_COMPONENTS_MIN <= len(components) <= MODAL_COMPONENTS_MAX:
        c.bad_length(path + ("components",), components, MODAL_COMPONENTS_MIN, MODAL_COMPONENTS_MAX)
    else:
        _components(c, path + ("components",), components)
    return c.result()


def _choices(c: _Collector, path: Path, choices: Sequence[Mapping[str, Any]]) -> None:
    if len(choices) > CHOICES_MAX:
        c.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {CHOICES_MAX} or fewer in length.")
        return
    for index, choice in enumerate(choices):
        c.bad_length(path + (index, "name"), choice.get("name"), CHOICE_NAME_MIN, CHOICE_NAME_MAX)
        c.max_length(path + (index, "value"), choice.get("value"), CHOICE_VALUE_MAX)


def autocomplete_errors(data: Mapping[str, Any], *, path: Path = ("data",)) -> Errors | None:
    """Autocomplete choices (callback type 8)."""
    c = _Collector()
    _choices(c, path + ("choices",), data.get("choices") or [])
    return c.result()


CALLBACK_CHANNEL_MESSAGE = 4
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_AUTOCOMPLETE_RESULT = 8
CALLBACK_MODAL = 9


def check_callback(body: Mapping[str, Any] | None, file_sizes: Sequence[int], target: Mapping[str, Any] | None,
                   *, size_limit: int) -> Refusal | None:
    """An interaction callback's ``data``; ``target`` is the message a type 7 updates."""
    body = body or {}
    kind = body.get("type")
    data = body.get("data") or {}
    if kind == CALLBACK_CHANNEL_MESSAGE:
        return check_message_create(data, file_sizes, size_limit=size_limit, path=("data",))
    if kind == CALLBACK_UPDATE_MESSAGE:
        return check_message_edit(data, file_sizes, target, size_limit=size_limit, path=("data",))
    errors = None
    if kind == CALLBACK_MODAL:
        errors = modal_errors(data)
    elif kind == CALLBACK_AUTOCOMPLETE_RESULT:
        errors = autocomplete_errors(data)
    return invalid_form_body(errors) if errors else None


# ---------------------------------------------------------------- application commands

CHAT_INPUT = 1
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2


def _name_char_ok(char: str) -> bool:
    # ^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]$ without the third-party regex module.
    if char in "-_'" or unicodedata.category(char)[0] in "LN":
        return True
    return unicodedata.name(char, "").startswith(("DEVANAGARI", "THAI"))


def _command_name(c: _Collector, path: Path, name: Any, *, chat_input: bool) -> None:
    if not isinstance(name, str) or not COMMAND_NAME_MIN <= len(name) <= COMMAND_NAME_MAX:
        c.bad_length(path, name, COMMAND_NAME_MIN, COMMAND_NAME_MAX)
    elif chat_input and (name != name.lower() or not all(_name_char_ok(ch) for ch in name)):
        c.add(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def _options(c: _Collector, path: Path, options: Sequence[Mapping[str, Any]]) -> None:
    if len(options) > COMMAND_OPTIONS_MAX:
        c.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {COMMAND_OPTIONS_MAX} or fewer in length.")
        return
    for index, option in enumerate(options):
        here = path + (index,)
        _command_name(c, here + ("name",), option.get("name"), chat_input=True)
        c.bad_length(here + ("description",), option.get("description"), COMMAND_DESCRIPTION_MIN,
                     COMMAND_DESCRIPTION_MAX)
        _choices(c, here + ("choices",), option.get("choices") or [])
        if option.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP):
            _options(c, here + ("options",), option.get("options") or [])


def commands_errors(commands: Sequence[Mapping[str, Any]]) -> Errors | None:
    """The form errors of a bulk overwrite (PUT .../commands), keyed by command index."""
    c = _Collector()
    for index, command in enumerate(commands):
        chat_input = int(command.get("type") or CHAT_INPUT) == CHAT_INPUT
        _command_name(c, (index, "name"), command.get("name"), chat_input=chat_input)
        if chat_input:
            c.bad_length((index, "description"), command.get("description"), COMMAND_DESCRIPTION_MIN,
                         COMMAND_DESCRIPTION_MAX)
            _options(c, (index, "options"), command.get("options") or [])
    return c.result()


def check_commands(commands: Sequence[Mapping[str, Any]] | None) -> Refusal | None:
    """PUT /applications/{app}[/guilds/{guild}]/commands."""
    commands = list(commands or [])
    if sum(1 for cmd in commands if int(cmd.get("type") or CHAT_INPUT) == CHAT_INPUT) > MAX_COMMANDS:
        return Refusal(400, MAX_COMMANDS_REACHED, f"Maximum number of application commands reached ({MAX_COMMANDS})")
    errors = commands_errors(commands)
    return invalid_form_body(errors) if errors else None
