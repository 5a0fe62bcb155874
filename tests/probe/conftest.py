import sys

from ..conftest import ROOT

sys.path.insert(0, str(ROOT / "examples"))
sys.modules.setdefault("examples_path", __import__("ema_layer"))
