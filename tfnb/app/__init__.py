"""``tf.app``: ``run`` (parse flags, call ``main(argv)``, exit with its result) and ``flags``."""
import sys

from . import flags

__all__ = ["run", "flags"]

_HELP = ("--help", "-help", "-h", "-?", "--helpshort", "--helpfull")


def _usage(main_module):
    doc = (getattr(main_module, "__doc__", None) or "").strip()
    if doc:
        print(doc)
        print()
    print("flags:")
    print(flags.FLAGS.get_help())


def run(main=None, argv=None):
    """Parses the command line into ``tf.app.flags.FLAGS`` and runs ``main`` as TF 1.x did.

    Flags unknown to FLAGS are left in the argument list given to ``main`` (TF 1.x parsed
    with ``known_only=True``); a malformed value prints the error and exits with status 1;
    ``--help`` prints the module docstring and the flags, then exits with status 1 (absl).

    Args:
        main: the function to run, called as ``main(argv)``; default ``__main__.main``.
        argv: the command line (default ``sys.argv``), program name first.

    Raises:
        SystemExit: always, with ``main``'s return value as the exit status.
    """
    main_module = sys.modules.get("__main__")
    main = main or main_module.main
    args = list(sys.argv if argv is None else argv)
    if any(a in _HELP for a in args[1:args.index("--") if "--" in args else len(args)]):
        _usage(main_module)
        sys.exit(1)
    try:
        remaining = flags.FLAGS(args, known_only=True)
    except flags.Error as e:
        sys.stderr.write("FATAL Flags parsing error: %s\n" % e)
        sys.stderr.write("Pass --helpshort or --helpfull to see help on flags.\n")
        sys.exit(1)
    sys.exit(main(remaining))
