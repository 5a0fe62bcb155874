"""archclass.extras: a missing package answered with the extra that installs it."""

from __future__ import annotations

from archclass.extras import extra_providing, install_hint


def test_the_smallest_extra_that_installs_a_package():
    assert extra_providing("torch") == "probe"
    assert extra_providing("torch.nn.functional") == "probe"
    assert extra_providing("psycopg") == "postgres"
    assert extra_providing("pytest") == "dev"


def test_a_package_no_extra_installs():
    assert extra_providing("archclass") is None  # only 'all' names archclass itself
    assert extra_providing("numpy") is None
    assert install_hint("numpy") is None


def test_the_hint_is_the_command_to_run():
    assert install_hint("torch.cuda") == (
        "this needs torch, which is not installed; install it with: pip install 'archclass[probe]'"
    )
