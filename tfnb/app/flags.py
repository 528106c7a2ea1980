"""``tf.app.flags`` / ``tf.flags``: absl-style command-line flags, without absl.

TF 1.x re-exported ``absl.flags`` behind a wrapper that parses ``sys.argv`` the first time a
flag is read. This module is a small implementation with the same semantics for what TF1
programs use:

* ``DEFINE_string/integer/float/boolean/bool/enum/list/multi_string/multi_integer``;
* ``FLAGS.name`` to read (the global ``FLAGS`` parses ``sys.argv`` on first access, as TF1's
  wrapper did; a plain :class:`FlagValues` raises :class:`UnparsedFlagAccessError`) and
  ``FLAGS.name = value`` to set;
* ``FLAGS(argv, known_only=False)`` parses ``--name=value``, ``--name value``, ``-name``,
  ``--bool``/``--nobool``, stops at ``--`` and returns ``[argv[0]] + unparsed arguments``;
* errors as absl raises them: :class:`UnrecognizedFlagError` (unknown flag),
  :class:`IllegalFlagValueError` (bad value, failed validator or missing required flag),
  :class:`DuplicateFlagError` (defined twice), :class:`UnparsedFlagAccessError`.

Example:
    >>> flags.DEFINE_integer("batch_size", 100, "Batch size.")
    >>> FLAGS(["prog", "--batch_size=32", "extra"])
    ['prog', 'extra']
    >>> FLAGS.batch_size
    32
"""
import sys

__all__ = ["FLAGS", "FlagValues", "Flag", "Error", "UnrecognizedFlagError",
           "IllegalFlagValueError", "DuplicateFlagError", "UnparsedFlagAccessError",
           "ValidationError", "DEFINE", "DEFINE_string", "DEFINE_integer", "DEFINE_float",
           "DEFINE_boolean", "DEFINE_bool", "DEFINE_enum", "DEFINE_list", "DEFINE_multi_string",
           "DEFINE_multi_integer", "DEFINE_multi_float", "mark_flag_as_required",
           "mark_flags_as_required", "register_validator", "declare_key_flag"]


class Error(Exception):
    """Base class of the flag errors (absl's ``flags.Error``)."""


class UnrecognizedFlagError(Error):
    """A command-line flag that no DEFINE_* declared."""

    def __init__(self, flagname, flagvalue=""):
        self.flagname = flagname
        self.flagvalue = flagvalue
        super().__init__("Unknown command line flag '%s'" % flagname)


class IllegalFlagValueError(Error):
    """A value the flag's parser or a validator rejects."""


class ValidationError(Error):
    """Raised by a validator (reported as IllegalFlagValueError when parsing)."""


class DuplicateFlagError(Error):
    """The same flag name was defined twice."""


class UnparsedFlagAccessError(Error, AttributeError):
    """A flag was read before the command line was parsed."""


_TRUE = ("true", "t", "1", "yes", "y")
_FALSE = ("false", "f", "0", "no", "n")


class Flag:
    """One flag: its name, default, help text, and a ``parse`` from text to value."""

    def __init__(self, name, default, help_string, parse, flag_type, short_name=None,
                 boolean=False, multi=False, enum_values=None):
        self.name = name
        self.help = help_string or "(no help available)"
        self.short_name = short_name
        self.boolean = boolean
        self.multi = multi
        self.flag_type = flag_type
        self.enum_values = enum_values
        self._parse_text = parse
        self.present = 0
        self.using_default_value = True
        self.default = None if default is None else self._convert(default)
        self.value = self.default

    def _convert(self, value):
        """Text (or a Python value) -> the flag's value; raises ValueError on junk."""
        if self.multi:
            items = value if isinstance(value, (list, tuple)) else [value]
            return [self._parse_text(v) for v in items]
        return self._parse_text(value)

    def parse(self, text):
        """Parses one occurrence from the command line (multi flags accumulate)."""
        try:
            value = self._convert(text)
        except (ValueError, TypeError) as e:
            raise IllegalFlagValueError("flag --%s=%s: %s" % (self.name, text, e)) from None
        if self.multi and self.present:
            self.value = list(self.value) + value
        else:
            self.value = value
        self.present += 1
        self.using_default_value = False

    def __repr__(self):
        return "<Flag --%s=%r>" % (self.name, self.value)


def _parse_bool(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        if v in (0, 1):
            return bool(v)
        raise ValueError("Non-boolean argument to boolean flag: %r" % (v,))
    s = str(v).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError("Non-boolean argument to boolean flag: %r" % (v,))


def _bounded(convert, lower, upper, kind):
    def parse(v):
        if isinstance(v, str):
            v = convert(v.strip())
        else:
            v = convert(v)
        if lower is not None and v < lower:
            raise ValueError("%s is not >= %s" % (v, lower))
        if upper is not None and v > upper:
            raise ValueError("%s is not <= %s" % (v, upper))
        return v
    parse.kind = kind
    return parse


def _parse_int(v):
    if isinstance(v, bool):
        raise ValueError("Expect argument to be a string or int, found %s" % type(v))
    if isinstance(v, int):
        return v
    s = str(v)
    base = 16 if s.lower().startswith(("0x", "-0x")) else 10
    return int(s, base)


class FlagValues:
    """The registry of flags and their values (absl's ``FlagValues``)."""

    def __init__(self):
        object.__setattr__(self, "_flags", {})
        object.__setattr__(self, "_short", {})
        object.__setattr__(self, "_validators", [])
        object.__setattr__(self, "_parsed", False)

    # -- registration ------------------------------------------------------------------------
    def _register(self, flag):
        if flag.name in self._flags:
            raise DuplicateFlagError(
                "The flag '%s' is defined twice. First from %s, Second from %s" % (
                    flag.name, getattr(self._flags[flag.name], "module", "?"), _caller_module()))
        flag.module = _caller_module()
        self._flags[flag.name] = flag
        if flag.short_name:
            self._short[flag.short_name] = flag.name
        return flag

    def _flag(self, name):
        name = self._short.get(name, name)
        if name not in self._flags:
            raise AttributeError(name)
        return self._flags[name]

    # -- attribute access --------------------------------------------------------------------
    def __getattr__(self, name):
        flags = object.__getattribute__(self, "_flags")
        if name not in flags and name not in self._short:
            raise AttributeError(name)
        if not self._parsed:
            raise UnparsedFlagAccessError(
                "Trying to access flag --%s before flags were parsed." % name)
        return self._flag(name).value

    def __setattr__(self, name, value):
        if name not in self._flags:
            raise AttributeError("Unknown flag: %s" % name)
        f = self._flags[name]
        old = f.value
        try:
            f.value = None if value is None else f._convert(value)
        except (ValueError, TypeError) as e:
            raise IllegalFlagValueError("flag --%s=%s: %s" % (name, value, e)) from None
        f.using_default_value = False
        try:
            self._run_validators([name])
        except IllegalFlagValueError:
            f.value = old
            raise

    def __delattr__(self, name):
        f = self._flag(name)
        del self._flags[f.name]
        if f.short_name:
            self._short.pop(f.short_name, None)

    def __getitem__(self, name):
        return self._flag(name)

    def __contains__(self, name):
        return name in self._flags or name in self._short

    def __iter__(self):
        return iter(list(self._flags))

    def __len__(self):
        return len(self._flags)

    def __dir__(self):
        return sorted(self._flags)

    # -- parsing -----------------------------------------------------------------------------
    def is_parsed(self):
        return self._parsed

    def mark_as_parsed(self):
        object.__setattr__(self, "_parsed", True)

    def unparse_flags(self):
        """Resets every flag to its default and marks the values unparsed."""
        for f in self._flags.values():
            f.value = f.default
            f.present = 0
            f.using_default_value = True
        object.__setattr__(self, "_parsed", False)

    def __call__(self, argv, known_only=False):
        """Parses ``argv[1:]``; returns ``[argv[0]]`` + the arguments that are not flags.

        Args:
            argv: the command line, program name first.
            known_only: keep unknown flags in the returned list instead of raising
                (what ``tf.app.run`` does).

        Raises:
            UnrecognizedFlagError: an unknown ``--flag`` (unless ``known_only``).
            IllegalFlagValueError: a value that does not parse or fails a validator.
        """
        if isinstance(argv, str) or not hasattr(argv, "__iter__"):
            raise TypeError("argv should be a tuple/list of strings, not bytes or string.")
        argv = list(argv)
        if not argv:
            raise ValueError("argv cannot be an empty list, and must contain the program name as "
                             "the first element.")
        program, args = argv[0], argv[1:]
        unparsed, unknown = [], []
        i = 0
        while i < len(args):
            arg = args[i]
            i += 1
            if arg == "--":
                unparsed.extend(args[i:])
                break
            if not arg.startswith("-") or arg == "-":
                unparsed.append(arg)
                continue
            body = arg[2:] if arg.startswith("--") else arg[1:]
            name, eq, value = body.partition("=")
            key = self._short.get(name, name)
            flag = self._flags.get(key)
            if flag is not None and flag.boolean and not eq:
                flag.parse("true")
                continue
            if flag is None and name.startswith("no") and not eq:
                neg = self._flags.get(self._short.get(name[2:], name[2:]))
                if neg is not None and neg.boolean:
                    neg.parse("false")
                    continue
            if flag is None:
                if known_only:
                    unparsed.append(arg)
                    continue
                unknown.append((name, arg))
                continue
            if not eq:
                if i >= len(args):
                    raise IllegalFlagValueError("Missing value for flag %s" % arg)
                value = args[i]
                i += 1
            flag.parse(value)
        if unknown:
            raise UnrecognizedFlagError(unknown[0][0], unknown[0][1])
        self.mark_as_parsed()
        self._run_validators()
        return [program] + unparsed

    # -- validators --------------------------------------------------------------------------
    def _add_validator(self, names, check, message):
        for n in names:
            if n not in self._flags:
                raise KeyError("Flag --%s is not defined; define it before registering a "
                               "validator" % n)
        self._validators.append((tuple(names), check, message))

    def _run_validators(self, only=None):
        for names, check, message in self._validators:
            if only is not None and not set(names) & set(only):
                continue
            values = [self._flags[n].value for n in names]
            try:
                ok = check(*values)
            except ValidationError as e:
                ok, message = False, str(e)
            if not ok:
                raise IllegalFlagValueError("flag --%s=%s: %s" % (names[0], values[0], message))

    # -- inspection --------------------------------------------------------------------------
    def flag_values_dict(self):
        """A dict of every flag's name to its current value."""
        return {name: f.value for name, f in self._flags.items()}

    def get_flag_value(self, name, default):
        return self._flags[name].value if name in self._flags else default

    def set_default(self, name, value):
        f = self._flag(name)
        f.default = None if value is None else f._convert(value)
        if f.using_default_value:
            f.value = f.default

    def __repr__(self):
        return "<FlagValues %s>" % ", ".join("--%s=%r" % (n, f.value) for n, f in
                                             sorted(self._flags.items()))

    def get_help(self):
        """One line per flag: name, help and default, as absl's ``--helpfull`` lists them."""
        lines = []
        for name in sorted(self._flags):
            f = self._flags[name]
            lines.append("  --%s%s: %s\n    (default: %r)" % (
                "[no]" if f.boolean else "", name, f.help, f.default))
        return "\n".join(lines)

    __str__ = get_help


def _caller_module():
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    return frame.f_globals.get("__name__", "?") if frame is not None else "?"


class _ParseOnReadFlagValues(FlagValues):
    """TF1's wrapper around absl's FLAGS: reading a flag first parses ``sys.argv``."""

    def __getattr__(self, name):
        flags = object.__getattribute__(self, "_flags")
        if (name in flags or name in self._short) and not self._parsed:
            self(sys.argv)
        return FlagValues.__getattr__(self, name)


FLAGS = _ParseOnReadFlagValues()


def DEFINE(parser, name, default, help, flag_values=FLAGS, **kw):  # noqa: N802,A002
    """Defines a flag whose text is converted by ``parser(text)``."""
    return flag_values._register(Flag(name, default, help, parser, "custom", **kw))


def DEFINE_string(name, default, help, flag_values=FLAGS, **kw):  # noqa: N802,A002
    """A string flag (``--name=text``)."""
    return flag_values._register(Flag(name, default, help, str, "string", **kw))


def DEFINE_integer(name, default, help, lower_bound=None, upper_bound=None,  # noqa: N802,A002
                   flag_values=FLAGS, **kw):
    """An integer flag, optionally bounded (decimal or 0x hex text)."""
    parse = _bounded(_parse_int, lower_bound, upper_bound, "int")
    return flag_values._register(Flag(name, default, help, parse, "int", **kw))


def DEFINE_float(name, default, help, lower_bound=None, upper_bound=None,  # noqa: N802,A002
                 flag_values=FLAGS, **kw):
    """A float flag, optionally bounded."""
    parse = _bounded(float, lower_bound, upper_bound, "float")
    return flag_values._register(Flag(name, default, help, parse, "float", **kw))


def DEFINE_boolean(name, default, help, flag_values=FLAGS, **kw):  # noqa: N802,A002
    """A boolean flag: ``--name``, ``--noname``, ``--name=true/false/1/0``."""
    return flag_values._register(Flag(name, default, help, _parse_bool, "bool", boolean=True,
                                      **kw))


DEFINE_bool = DEFINE_boolean


def DEFINE_enum(name, default, enum_values, help, flag_values=FLAGS, case_sensitive=True,  # noqa: N802,A002
                **kw):
    """A string flag whose value must be one of ``enum_values``."""
    if not enum_values:
        raise ValueError("enum_values cannot be empty")
    values = list(enum_values)

    def parse(v):
        v = str(v)
        for e in values:
            if v == e or (not case_sensitive and v.upper() == e.upper()):
                return e
        raise ValueError("value should be one of <%s>" % "|".join(values))
    return flag_values._register(Flag(name, default, help, parse, "enum", enum_values=values, **kw))


def DEFINE_list(name, default, help, flag_values=FLAGS, **kw):  # noqa: N802,A002
    """A comma-separated list of strings (``--name=a,b,c``)."""
    def parse(v):
        if isinstance(v, (list, tuple)):
            return [str(x) for x in v]
        v = str(v).strip()
        return [s.strip() for s in v.split(",")] if v else []
    return flag_values._register(Flag(name, default, help, parse, "list", **kw))


def _define_multi(name, default, help, convert, kind, flag_values, kw):  # noqa: A002
    return flag_values._register(Flag(name, default, help, convert, kind, multi=True, **kw))


def DEFINE_multi_string(name, default, help, flag_values=FLAGS, **kw):  # noqa: N802,A002
    """A flag that may repeat; its value is the list of every occurrence."""
    return _define_multi(name, default, help, str, "multi_string", flag_values, kw)


def DEFINE_multi_integer(name, default, help, lower_bound=None, upper_bound=None,  # noqa: N802,A002
                         flag_values=FLAGS, **kw):
    """A repeatable integer flag."""
    return _define_multi(name, default, help, _bounded(_parse_int, lower_bound, upper_bound, "int"),
                         "multi_int", flag_values, kw)


def DEFINE_multi_float(name, default, help, lower_bound=None, upper_bound=None,  # noqa: N802,A002
                       flag_values=FLAGS, **kw):
    """A repeatable float flag."""
    return _define_multi(name, default, help, _bounded(float, lower_bound, upper_bound, "float"),
                         "multi_float", flag_values, kw)


def register_validator(flag_name, checker, message="Flag validation failed",
                       flag_values=FLAGS):
    """Adds ``checker(value) -> bool`` run whenever the flag is parsed or set."""
    flag_values._add_validator([flag_name], checker, message)


def mark_flag_as_required(flag_name, flag_values=FLAGS):
    """Parsing fails unless ``--flag_name`` has a value other than None."""
    if flag_name in flag_values and flag_values[flag_name].default is not None:
        import warnings
        warnings.warn("Flag --%s has a non-None default value; therefore, mark_flag_as_required "
                      "will pass even if flag is not specified in the command line!" % flag_name,
                      stacklevel=2)
    flag_values._add_validator([flag_name], lambda v: v is not None,
                               "Flag --%s must have a value other than None." % flag_name)


def mark_flags_as_required(flag_names, flag_values=FLAGS):
    for name in flag_names:
        mark_flag_as_required(name, flag_values)


def declare_key_flag(flag_name, flag_values=FLAGS):
    """Accepted for compatibility (absl uses it only for --helpshort)."""
    if flag_name not in flag_values:
        raise ValueError("Flag --%s is undefined. To set a flag as a key flag first define it in "
                         "Python." % flag_name)
