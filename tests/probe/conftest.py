import sys

from ..conftest import ROOT

# The README's example module lives in examples/; tests import it by name (it needs torch, so only
# the tests that skip without torch import it).
sys.path.insert(0, str(ROOT / "examples"))
