# pragma version ~=0.4.3
"""
@title Test ERC-20 for the Settle EVM devnet
@notice A deployable wrapper around snekmate's audited `erc20` module (which is a module,
        not a contract). The deployer is the owner and a minter; `initial_holder_` receives
        `initial_supply_` at deployment (a Transfer from the zero address).
"""

from snekmate.auth import ownable
from snekmate.tokens import erc20

initializes: ownable
initializes: erc20[ownable := ownable]

exports: erc20.__interface__


@deploy
@payable
def __init__(
    name_: String[25],
    symbol_: String[5],
    decimals_: uint8,
    initial_holder_: address,
    initial_supply_: uint256,
):
    ownable.__init__()
    erc20.__init__(name_, symbol_, decimals_, name_, "1")
    if initial_supply_ > 0:
        erc20._mint(initial_holder_, initial_supply_)
