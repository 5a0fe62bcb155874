"""JSON numbers as the commands and exports write them."""

from __future__ import annotations

import json

from archclass.json_output import json_ready, json_text


def test_whole_floats_become_integers_and_a_pair_bound_whole_pairs():
    data = {"bound": {"max_pairs": 132205751.91489594, "d": 4096.0, "A": 0.9}, "value": [8.0, 0.5]}
    assert json_ready(data) == {"bound": {"max_pairs": 132205751, "d": 4096, "A": 0.9}, "value": [8, 0.5]}


def test_text_is_indented_keeps_unicode_and_ends_a_line():
    text = json_text({"name": "Hyena–Mamba", "d": 64.0})
    assert text.endswith("}\n") and '\n  "name": "Hyena–Mamba",' in text and '"d": 64\n' in text
    assert json.loads(text)["d"] == 64
