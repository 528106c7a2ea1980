"""Module paths of ``tensorflow.python`` that TF1 programs import (re-export shims only)."""
