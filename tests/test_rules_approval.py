"""Authority and approval chain (核赔), DOMAIN §7: `approval_chain` over the catalog limits.

L1 <= 20,000; L2 <= 200,000; L3 <= 1,000,000; above -> panel (level 4). One approval at each
level from L1 up to the first level whose limit covers the payable amount.
"""

from __future__ import annotations

import pytest

from models.catalog import AUTHORITY_LIMITS
from tests.rulefixtures import DOMAIN_AUTHORITY_LIMITS, D
from workflows.approval import PANEL, approval_chain, level_name


def test_catalog_authority_limits_are_the_domain_defaults():
    assert AUTHORITY_LIMITS == DOMAIN_AUTHORITY_LIMITS


@pytest.mark.parametrize(
    ("amount", "chain"),
    [
        pytest.param("0.01", [1], id="one-cent"),
        pytest.param("5000.00", [1], id="fast-track-size"),
        pytest.param("20000.00", [1], id="L1-limit"),
        pytest.param("20000.01", [1, 2], id="just-above-L1"),
        pytest.param("150000.00", [1, 2], id="domain-example-150000"),
        pytest.param("200000.00", [1, 2], id="L2-limit"),
        pytest.param("200000.01", [1, 2, 3], id="just-above-L2"),
        pytest.param("1000000.00", [1, 2, 3], id="L3-limit"),
        pytest.param("1000000.01", [1, 2, 3, 4], id="just-above-L3-panel"),
        pytest.param("5000000.00", [1, 2, 3, 4], id="large-panel"),
    ],
)
def test_approval_chain_climbs_to_the_first_level_that_covers_the_amount(amount, chain):
    assert approval_chain(D(amount), AUTHORITY_LIMITS) == chain


def test_panel_comes_after_l3():
    assert PANEL == 4
    assert [level_name(level) for level in approval_chain(D("1000000.01"), AUTHORITY_LIMITS)] == [
        "L1",
        "L2",
        "L3",
        "PANEL",
    ]


def test_approval_chain_follows_the_limits_it_is_given():
    # limits are data: a profile with a lower L1 limit of 10,000 sends 15,000 to L2
    limits = {**DOMAIN_AUTHORITY_LIMITS, 1: D(10000)}
    assert approval_chain(D(15000), limits) == [1, 2]
    assert approval_chain(D(10000), limits) == [1]
