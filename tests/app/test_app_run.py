"""tf.app.run: parses flags (unknown ones left for main), calls main(argv), exits with its result."""
import subprocess
import sys
import textwrap

import pytest

PROGRAM = textwrap.dedent('''
    """A TF1-style program."""
    import sys
    sys.path.insert(0, %r)
    import tfnb as tf
    flags = tf.app.flags
    FLAGS = flags.FLAGS
    flags.DEFINE_integer("max_steps", 10, "Number of steps.")
    flags.DEFINE_string("train_dir", "/tmp/x", "Where.")
    flags.DEFINE_boolean("fake", False, "A bool.")
    def main(argv):
        print("steps", FLAGS.max_steps, FLAGS.train_dir, FLAGS.fake, argv[1:])
        return 3
    if __name__ == "__main__":
        tf.app.run()
''')


def _run(tmp_path, *args):
    import os
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    prog = tmp_path / "prog.py"
    prog.write_text(PROGRAM % root)
    return subprocess.run([sys.executable, str(prog)] + list(args), capture_output=True,
                          text=True, timeout=120)


@pytest.mark.slow
def test_app_run_end_to_end(tmp_path):
    r = _run(tmp_path, "--max_steps", "7", "--fake", "--unknown=1", "pos")
    assert r.returncode == 3, r.stderr
    assert "steps 7 /tmp/x True ['--unknown=1', 'pos']" in r.stdout
    r = _run(tmp_path, "--max_steps=abc")
    assert r.returncode == 1 and "FATAL Flags parsing error: flag --max_steps=abc" in r.stderr
    r = _run(tmp_path, "--help")
    assert r.returncode == 1 and "--max_steps: Number of steps." in r.stdout


def test_app_run_in_process(monkeypatch):
    import tfnb as tf
    from tfnb.app import flags
    fv = flags._ParseOnReadFlagValues()
    flags.DEFINE_integer("epochs", 1, "epochs", flag_values=fv)
    monkeypatch.setattr(flags, "FLAGS", fv)
    seen = []

    def main(argv):
        seen.append((fv.epochs, argv))
    with pytest.raises(SystemExit) as e:
        tf.app.run(main=main, argv=["p", "--epochs=4", "rest"])
    assert e.value.code is None and seen == [(4, ["p", "rest"])]
