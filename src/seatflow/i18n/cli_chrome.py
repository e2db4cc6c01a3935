"""The words Click and Typer print around our commands ("Usage:", "Options", "Missing option '--file'"),
in the CLI's language.

Three ways in, because the libraries say their words in three ways:

- Click, and Typer's own modules, pass some words through ``gettext`` (a module-level ``_`` /
  ``ngettext`` from the standard library, and Typer's help-panel constants); the standard library would
  look for a compiled catalog on disk, which we don't ship. ``use(locale)`` points those functions and
  constants at our catalog.
- Typer (0.2x) carries its own copy of Click (``typer._click``) whose messages are plain English
  f-strings: the usage line's "Usage: " prefix and the --help option's own help are given by our
  catalog instead, and the most common
  usage errors (a missing or unknown option, an unknown command, a bad value, extra arguments) are
  recognised by their English shape (``_ERRORS``) and said again from the catalog before Typer prints
  them. Anything else stays English.

``SeatflowGroup.main`` calls ``use`` once per command run, so the language follows SEATFLOW_LANG / LANG
as they are when the command runs. The messages are listed with ``N_`` so that scripts/i18n_extract
puts them in the catalogs; their text must match the libraries' exactly (a message a new release
rewords simply stays English until this list follows it). Only what a person running a command can
meet is listed; errors about a badly declared command (a programmer's mistake) are not.
"""

from __future__ import annotations

import gettext
import importlib
import re
from gettext import ngettext
from typing import Any

from . import translations
from .message import N_

# Click (8.x) ---------------------------------------------------------------------------------------
N_("Aborted!")
N_("Options")
N_("Positional arguments")
N_("Commands")
N_("Missing command.")
N_("Value must be an iterable.")
N_("env var: {var}")
N_("default: {default}")
N_("(dynamic)")
N_("deprecated")
N_("DeprecationWarning: The command {name!r} is deprecated.{extra_message}")
N_("DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}")
N_("Do you want to continue?")
N_("Confirm the action without prompting.")
N_("%(prog)s, version %(version)s")
N_("Show the version and exit.")
N_("Show this message and exit.")
N_("Error: {message}")
N_("Try '{command} {option}' for help.")
N_("Invalid value: {message}")
N_("Invalid value for {param_hint}: {message}")
N_("Missing argument")
N_("Missing option")
N_("Missing parameter")
N_("Missing {param_type}")
N_("Missing parameter: {param_name}")
N_("No such option {name!r}.")
N_("unknown error")
N_("Could not open file {filename!r}: {message}")
N_("Usage:")
N_("Argument {name!r} takes {nargs} values.")
N_("Option {name!r} does not take a value.")
N_("Repeat for confirmation")
N_("Error: The two entered values do not match.")
N_("Error: invalid input")
N_("Press any key to continue...")
N_("Choose from:\n\t{choices}")
N_("{value!r} is not a valid {number_type}.")
N_("{value} is not in the range {range}.")
N_("{value!r} is not a valid boolean. Recognized values: {states}")
N_("{value!r} is not a valid UUID.")
N_("file")
N_("directory")
N_("path")
N_("{name} {filename!r} does not exist.")
N_("{name} {filename!r} is a file.")
N_("{name} {filename!r} is a directory.")
N_("{name} {filename!r} is not readable.")
N_("{name} {filename!r} is not writable.")
N_("{name} {filename!r} is not executable.")
N_("{editor}: Editing failed")
N_("{editor}: Editing failed: {e}")
# Typer's copy of Click: its English usage errors, recognised by their shape -----------------------------
_ERRORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Missing option (?P<name>.+?)\.(?P<more>.*)", re.S), N_("Missing option {name}.{more}")),
    (re.compile(r"Missing argument (?P<name>.+?)\.(?P<more>.*)", re.S), N_("Missing argument {name}.{more}")),
    (re.compile(r"No such option: (?P<name>\S+) \(Possible options: (?P<choices>.+)\)"),
     N_("No such option: {name} (did you mean one of: {choices}?)")),
    (re.compile(r"No such option: (?P<name>\S+)"), N_("No such option: {name}")),
    (re.compile(r"No such command (?P<name>'.+?')\. Did you mean (?P<choices>.+)\?"),
     N_("No such command {name}. Did you mean {choices}?")),
    (re.compile(r"No such command (?P<name>'.+?')\."), N_("No such command {name}.")),
    (re.compile(r"Invalid value for (?P<name>.+?): (?P<why>.*)", re.S), N_("Invalid value for {name}: {why}")),
    (re.compile(r"Got unexpected extra argument\(s\) \((?P<args>.*)\)", re.S),
     N_("Got unexpected extra arguments ({args})")),
]
# Typer (0.x) ---------------------------------------------------------------------------------------
N_("required")
N_("Arguments")
N_("(deprecated) ")
N_("[default: {}]")
N_("[env var: {}]")
N_("[required]")
N_("Error")
N_("Aborted.")
N_("Try [blue]'{command_path} {help_option}'[/] for help.")


def _plural_messages(n: int) -> None:  # never called: lists Click's plural messages for the extractor
    ngettext("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})", n)
    ngettext("Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given.", n)
    ngettext("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)", n)
    ngettext("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments.", n)
    ngettext("{value!r} is not {choice}.", "{value!r} is not one of {choices}.", n)
    ngettext("{value!r} does not match the format {format}.", "{value!r} does not match the formats {formats}.", n)
    ngettext("{len_type} values are required, but {len_value} was given.",
             "{len_type} values are required, but {len_value} were given.", n)


# The modules whose module-level ``_`` / ``ngettext`` print to the person at the terminal.
_MODULES = ("click.core", "click.decorators", "click.exceptions", "click.formatting", "click.parser",
            "click.termui", "click.types", "click._termui_impl", "typer.core", "typer.rich_utils",
            "typer._click.parser")
# Typer's help panels read these constants, translated once when typer.rich_utils was imported.
_RICH_CONSTANTS = ("DEPRECATED_STRING", "DEFAULT_STRING", "ENVVAR_STRING", "REQUIRED_LONG_STRING",
                   "ARGUMENTS_PANEL_TITLE", "OPTIONS_PANEL_TITLE", "COMMANDS_PANEL_TITLE", "ERRORS_PANEL_TITLE",
                   "ABORTED_TEXT", "RICH_HELP")
_english: dict[str, Any] = {}
_current: list[gettext.NullTranslations] = [gettext.NullTranslations()]


def said_again(message: str, t: gettext.NullTranslations) -> str:
    """One of Typer's English usage errors in ``t``'s language (unknown shapes are returned as they are)."""
    for shape, msgid in _ERRORS:
        m = shape.fullmatch(message)
        if m:
            return t.gettext(msgid).format(**m.groupdict())
    return message


def _rich_format_error(exc: Any) -> None:
    message = said_again(exc.format_message(), _current[0])
    exc.format_message = lambda: message
    _english["rich_format_error"](exc)


def _write_usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
    if prefix is None:
        prefix = _current[0].gettext("Usage:") + " "
    _english["write_usage"](self, prog, args, prefix)


def _get_help_option(self: Any, ctx: Any) -> Any:
    option = _english["get_help_option"](self, ctx)
    if option is not None:  # made once per command with Click's English help; said in this run's language
        option.help = _current[0].gettext("Show this message and exit.")
    return option


def use(locale: str) -> None:
    """Make Click's and Typer's own messages speak ``locale`` from now on (``"en"`` puts English back)."""
    t = translations(locale)
    _current[0] = t
    for name in _MODULES:
        try:
            module: Any = importlib.import_module(name)
        except ImportError:  # pragma: no cover - Typer without rich, or a Click without that module
            continue
        if hasattr(module, "_"):
            module._ = t.gettext
        if hasattr(module, "ngettext"):
            module.ngettext = t.ngettext
    try:
        rich_utils: Any = importlib.import_module("typer.rich_utils")
    except ImportError:  # pragma: no cover
        return
    for const in _RICH_CONSTANTS:
        if hasattr(rich_utils, const):
            english = _english.setdefault(const, getattr(rich_utils, const))
            setattr(rich_utils, const, t.gettext(english))
    if "rich_format_error" not in _english and hasattr(rich_utils, "rich_format_error"):
        _english["rich_format_error"] = rich_utils.rich_format_error
        rich_utils.rich_format_error = _rich_format_error
    try:
        formatting: Any = importlib.import_module("typer._click.formatting")
    except ImportError:  # pragma: no cover - a Typer that uses Click itself (its "Usage:" is gettext'd above)
        return
    if "write_usage" not in _english:
        _english["write_usage"] = formatting.HelpFormatter.write_usage
        formatting.HelpFormatter.write_usage = _write_usage
    core: Any = importlib.import_module("typer._click.core")
    if "get_help_option" not in _english and hasattr(core.Command, "get_help_option"):
        _english["get_help_option"] = core.Command.get_help_option
        core.Command.get_help_option = _get_help_option
